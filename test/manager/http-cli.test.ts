/**
 * The bundle manager's CLI against a running gateway with real bundle processes (issue 15; docs/manager.md "HTTP API
 * and CLI"): install from a directory and from a .tar.gz file, the list with the manager's columns, the verbs and
 * status, logs (tail and follow), uninstall; a collision printed with exit 1.
 */
import assert from 'node:assert/strict'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { after, before, describe, test } from 'node:test'
import { packBundle } from '../../src/cli/pack-bundle.ts'
import { runCli, startCli } from '../helpers/cli.ts'
import { startTestGateway, waitFor } from '../helpers/gateway.ts'
import { writeBundle } from '../helpers/managed-bundles.ts'

const parent = await mkdtemp(join(tmpdir(), 'bg-mgrcli-e2e-'))
after(() => rm(parent, { recursive: true, force: true }))

describe('bundlegate install / bundles / logs / uninstall against a gateway', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>
  let client: string[]

  before(async () => {
    gw = await startTestGateway()
    client = ['--url', gw.httpUrl, '--token', gw.rootToken]
  })
  after(() => gw.close())

  const running = (name: string) =>
    waitFor(() => gw.manager.get(name)?.state === 'running', 20_000, `${name} running`)

  test('install <dir>: packed on the fly, installed and running', async () => {
    const dir = await writeBundle(parent, { name: 'clidir', behaviour: 'chatty', lang: 'js' })
    const r = await runCli(['install', dir, ...client])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /^installed clidir 1\.0\.0: (starting|running)/)
    await running('clidir')
    const answer = await fetch(`${gw.httpUrl}/api/v1/clidir`, { headers: { 'mx-api-token': gw.rootToken } })
    assert.equal(answer.status, 200)
  })

  test('install <file.tar.gz>: sent as it is', async () => {
    const file = join(parent, 'clifile-1.0.0.tar.gz')
    await pipeline(
      await packBundle(await writeBundle(parent, { name: 'clifile', behaviour: 'chatty', lang: 'js' })),
      createWriteStream(file),
    )
    const r = await runCli(['install', file, '--no-start', ...client])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /^installed clifile 1\.0\.0: installed/)
  })

  test('install of a colliding bundle: the 409 answer is printed, exit 1, nothing installed', async () => {
    const dir = await writeBundle(parent, {
      name: 'clash',
      resource: '/clidir',
      behaviour: 'chatty',
      lang: 'js',
    })
    const r = await runCli(['install', dir, ...client])
    assert.equal(r.code, 1)
    assert.match(r.stdout, /^409 Conflict/)
    assert.match(r.stdout, /GW_ERR_MANAGER_CONFLICT/)
    assert.match(r.stdout, /'clidir'/)
    assert.equal(gw.manager.get('clash'), undefined)
  })

  test('bundles: the table with state, version, restarts, uptime and memory', async () => {
    await running('clidir')
    const r = await runCli(['bundles', ...client])
    assert.equal(r.code, 0, r.stderr)
    const [head, ...rows] = r.stdout.trimEnd().split('\n')
    assert.match(
      head ?? '',
      /^NAME\s+ROLE\s+STATE\s+TTL\s+RESOURCES\s+REGISTERED\s+VERSION\s+RESTARTS\s+UPTIME\s+MEMORY$/,
    )
    assert.ok(
      rows.some((l) => /^clidir\s+model\s+running\s+60s\s+\/clidir get\s+\S+ \S+\s+1\.0\.0\s+0\s+\d/.test(l)),
      r.stdout,
    )
    assert.ok(
      rows.some((l) => /^clifile\s+-\s+installed\s+-\s+-\s+-\s+1\.0\.0\s+0\s+-\s+-$/.test(l)),
      r.stdout,
    )
  })

  test('bundles stop / status / start <name>', async () => {
    const stop = await runCli(['bundles', 'stop', 'clidir', ...client])
    assert.equal(stop.code, 0, stop.stderr)
    assert.equal(stop.stdout.trim(), 'clidir 1.0.0: stopped (stopped by request)')
    const status = await runCli(['bundles', 'status', 'clidir', ...client])
    assert.equal(status.code, 0)
    assert.match(status.stdout, /^state:\s+stopped$/m)
    assert.match(status.stdout, /^version:\s+1\.0\.0$/m)
    assert.match(status.stdout, /^last exit:\s+.* \(stopped\)$/m)
    const start = await runCli(['bundles', 'start', 'clidir', ...client])
    assert.equal(start.code, 0, start.stderr)
    assert.match(start.stdout, /^clidir 1\.0\.0: running/)
    const unknown = await runCli(['bundles', 'restart', 'nosuch', ...client])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stdout, /^404 Not Found/)
    assert.match(unknown.stdout, /GW_ERR_MANAGER_NOT_FOUND/)
  })

  test('logs -n: the last lines; logs -f: then new ones, until Ctrl-C', async () => {
    await running('clidir')
    const tail = await runCli(['logs', 'clidir', '-n', '1000', ...client])
    assert.equal(tail.code, 0, tail.stderr)
    assert.match(tail.stdout, /^\S+Z stdout clidir starting$/m)
    const follow = startCli(['logs', 'clidir', '-n', '0', '-f', ...client])
    try {
      // the stream is up once a request's line comes through; ask until it does
      for (let i = 0; i < 100 && !/ stdout served \d+$/m.test(follow.stdout()); i++) {
        await fetch(`${gw.httpUrl}/api/v1/clidir`, { headers: { 'mx-api-token': gw.rootToken } })
        await new Promise((r) => setTimeout(r, 100))
      }
      assert.match(follow.stdout(), /^\S+Z stdout served \d+$/m)
    } finally {
      process.emit('SIGINT')
    }
    assert.equal(await follow.done, 0)
  })

  test('uninstall <name>: gone, data kept unless --purge', async () => {
    const r = await runCli(['uninstall', 'clidir', ...client])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.stdout.trim(), 'uninstalled clidir (data kept)')
    assert.equal(gw.manager.get('clidir'), undefined)
    const purge = await runCli(['uninstall', 'clifile', '--purge', ...client])
    assert.equal(purge.stdout.trim(), 'uninstalled clifile (data removed)')
    const again = await runCli(['uninstall', 'clidir', ...client])
    assert.equal(again.code, 1)
    assert.match(again.stdout, /GW_ERR_MANAGER_NOT_FOUND/)
  })
})
