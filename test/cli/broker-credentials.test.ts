/**
 * `bundlegate broker-credentials create|list|revoke` on a data directory, and `bundlegate run` issuing a credential
 * for its bundle against a gateway whose broker requires authentication (revoked when the run ends).
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, test } from 'node:test'
import { BrokerCredentialStore } from '../../src/broker/index.ts'
import { runCommand } from '../../src/cli/commands/run.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

interface Listed {
  id: string
  bundle: string
  description: string
  revokedAt: string | null
}

describe('bundlegate broker-credentials', () => {
  test('create shows the password once; list never shows it; revoke refuses it; errors have their codes', async (t) => {
    const defer = lifo(t)
    const dataDir = await mkdtemp(join(tmpdir(), 'bg-brokercred-'))
    defer(() => rm(dataDir, { recursive: true, force: true }))
    const created = await runCli(['broker-credentials', 'create', 'thermo', '--data-dir', dataDir, '--json'])
    assert.equal(created.code, 0, created.stderr)
    const c = JSON.parse(created.stdout) as Listed & { username: string; password: string }
    assert.equal(c.username, 'thermo')
    assert.match(c.password, /^bgm_[A-Za-z0-9_-]{43}$/)
    assert.match(c.id, /^bc_[a-z2-7]{10}$/)
    const human = await runCli(['broker-credentials', 'create', 'thermo', '--data-dir', dataDir])
    assert.equal(human.code, 0)
    assert.match(human.stdout, /BROKER_USERNAME=thermo\n {2}BROKER_PASSWORD=bgm_/)

    const list = await runCli(['broker-credentials', 'list', '--data-dir', dataDir, '--json'])
    assert.equal(list.code, 0)
    assert.ok(!list.stdout.includes(c.password), 'list never shows a password')
    const all = JSON.parse(list.stdout) as Listed[]
    assert.equal(all.length, 2)
    assert.ok(all.every((x) => x.bundle === 'thermo' && x.revokedAt === null))
    // only a SHA-256 is stored
    assert.ok(!(await readFile(join(dataDir, 'broker-credentials.db'))).includes(Buffer.from(c.password)))

    const store = BrokerCredentialStore.open(dataDir)
    defer(() => store.close())
    assert.equal(store.verify('thermo', c.password).ok, true)
    assert.deepEqual(store.verify('other', c.password), { ok: false, reason: 'unknown' })

    const revoked = await runCli(['broker-credentials', 'revoke', 'thermo', '--data-dir', dataDir, '--json'])
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.equal((JSON.parse(revoked.stdout) as Listed[]).length, 2)
    assert.deepEqual(store.verify('thermo', c.password), { ok: false, reason: 'revoked' })
    const table = await runCli(['broker-credentials', 'list', '--data-dir', dataDir])
    assert.match(table.stdout, /^ID +BUNDLE +DESCRIPTION +CREATED +LAST USED +STATE\n/)
    assert.equal(table.stdout.match(/ revoked\n/g)?.length, 2)

    const again = await runCli(['broker-credentials', 'revoke', 'thermo', '--data-dir', dataDir])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /GW_ERR_BROKER_CREDENTIAL_NOT_FOUND/)
    const bad = await runCli(['broker-credentials', 'create', 'not_a_name', '--data-dir', dataDir])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /GW_ERR_BROKER_CREDENTIAL_INVALID/)
    assert.equal((await runCli(['broker-credentials', 'create', '--data-dir', dataDir])).code, 2)
    assert.equal((await runCli(['broker-credentials', 'nope', '--data-dir', dataDir])).code, 2)
  })

  test('`bundlegate run` issues a credential for its bundle when the gateway requires one, and revokes it at the end', async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway({ broker: { auth: 'on' } })
    const dataDir = gw.dataDir
    defer(() => gw.close())

    const dir = await mkdtemp(join(tmpdir(), 'bg-brokercred-bundle-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    const manifest = {
      name: 'authrun',
      version: '1.0.0',
      description: 'run with issued credentials',
      role: 'model',
      ttl: 5,
      main: 'index.ts',
      resources: [{ resource: '/authrun', methods: ['get'] }],
    }
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest))
    await writeFile(join(dir, 'package.json'), '{ "type": "module", "private": true }')
    await writeFile(
      join(dir, 'index.ts'),
      `import { createBundle } from 'bundlegate'
const bundle = createBundle({ dir: import.meta.dirname })
bundle.get('/authrun', () => ({ user: process.env.BROKER_USERNAME ?? null }))
await bundle.start()
`,
    )
    await mkdir(join(dir, 'node_modules'))
    await symlink(REPO_ROOT, join(dir, 'node_modules', 'bundlegate'), 'dir')

    const out = new PassThrough()
    const err = new PassThrough()
    let stderr = ''
    err.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    out.resume()
    const ac = new AbortController()
    const done = runCommand(
      [dir, '--broker', gw.brokerUrl, '--data-dir', dataDir],
      { out, err },
      { signal: ac.signal },
    )
    defer(async () => {
      ac.abort()
      await done
    })
    const online = () => gw.controller.core.components().some((c) => c.name === 'authrun' && c.online)
    await waitFor(online, 20_000, `the bundle to register:\n${stderr}`)
    assert.match(
      stderr,
      /issued broker credential bc_[a-z2-7]{10} for authrun \(revoked when this run ends\)/,
    )
    const answer = await gw.controller.core.request({ method: 'get', resource: '/authrun' })
    assert.equal(answer.message.code, 200)
    assert.deepEqual(answer.message.data, { user: 'authrun' })
    const store = gw.brokerCredentials
    assert.ok(store)
    // `bundlegate request` with a credential in the URL; without one the broker refuses it
    const cli = store.create('cli')
    const withCred = gw.brokerUrl.replace('mqtt://', `mqtt://cli:${cli.password}@`)
    const asked = await runCli(['request', 'GET', '/authrun', '--broker', withCred, '--timeout', '5000'])
    assert.equal(asked.code, 0, asked.stderr)
    assert.match(asked.stdout, /^200 GET \/authrun\n/)
    const refused = await runCli([
      'request',
      'GET',
      '/authrun',
      '--broker',
      gw.brokerUrl,
      '--timeout',
      '5000',
    ])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /GW_ERR_BROKER_CONNECT/)
    const mine = store.list().filter((c) => c.bundle === 'authrun')
    assert.equal(mine.length, 1)
    assert.match(mine[0]?.description ?? '', /^bundlegate run \(pid \d+\)$/)
    assert.equal(mine[0]?.revokedAt, null)
    ac.abort()
    await done
    assert.notEqual(
      store.list().find((c) => c.id === mine[0]?.id)?.revokedAt,
      null,
      'revoked when the run ended',
    )
  })
})
