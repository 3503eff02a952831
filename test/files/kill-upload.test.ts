/**
 * A kill -9 of the gateway in the middle of an upload (issue 16): the gateway runs as its own process
 * (`bundlegate start`), a client has sent part of a file, the partial file is on disk in `files/tmp/`; SIGKILL.
 * After the restart nothing partial is visible (the list is empty, no download) and the temp file is gone.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { startGateway } from '../../src/server.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'
import { freePort, REPO_ROOT, within } from '../helpers/processes.ts'

test('an upload during a kill -9 of the gateway leaves no visible file; temp files are removed at start', {
  timeout: 90_000,
}, async (t) => {
  const after = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-files-kill-'))
  after(() => rm(dataDir, { recursive: true, force: true }))
  const [httpPort, brokerPort] = [await freePort(), await freePort()]
  const args = ['--conditions=bundlegate-dev', '--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'bin.ts')]
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(
    process.execPath,
    [
      ...args,
      'start',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--broker-port',
      String(brokerPort),
      '--data-dir',
      dataDir,
      '--token-file',
      join(dataDir, 'mx-api-token'),
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_c, s) => resolve(s)))
  after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const url = `http://127.0.0.1:${httpPort}`
  await within(
    (async () => {
      for (;;) {
        const ok = await fetch(`${url}/ready`).then(
          (r) => r.ok,
          () => false,
        )
        if (ok) return
        if (child.exitCode !== null) throw new Error(`the gateway exited:\n${out}`)
        await new Promise((r) => setTimeout(r, 100))
      }
    })(),
    30_000,
    'the gateway process to be ready',
  )
  const token = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()

  // one complete file first: it must survive the kill
  const done = await fetch(`${url}/api/v1/files?name=complete.txt`, {
    method: 'POST',
    headers: { 'mx-api-token': token, 'content-type': 'application/octet-stream' },
    body: 'complete',
  })
  const complete = (await done.json()) as { id: string }
  assert.equal(done.status, 201)

  const socket = connect(httpPort, '127.0.0.1')
  socket.on('error', () => {})
  socket.write(
    `POST /api/v1/files?name=half.bin HTTP/1.1\r\nHost: 127.0.0.1:${httpPort}\r\nmx-api-token: ${token}\r\ncontent-type: application/octet-stream\r\ncontent-length: 10485760\r\n\r\n`,
  )
  socket.write(Buffer.alloc(2 * 1024 * 1024, 0x68))
  const tmp = join(dataDir, 'files', 'tmp')
  await waitFor(() => readdirSync(tmp).length === 1, 10_000, 'the partial upload on disk')
  child.kill('SIGKILL')
  assert.equal(await exited, 'SIGKILL')
  socket.destroy()
  assert.equal((await readdir(tmp)).length, 1, 'the partial file was left behind by the kill')

  const gw = await startGateway(
    await loadConfig({
      env: {},
      flags: {
        broker: { host: '127.0.0.1', port: 0 },
        http: { host: '127.0.0.1', port: 0 },
        data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
        log: { level: 'silent' },
      },
    }),
  )
  after(() => gw.close())
  assert.deepEqual(await readdir(tmp), [], 'temp files are removed at start')
  const list = await fetch(`${gw.httpUrl}/api/v1/files`, { headers: { 'mx-api-token': token } })
  const files = (await list.json()) as Array<{ id: string; name: string; size: number }>
  assert.deepEqual(
    files.map((f) => [f.id, f.name, f.size]),
    [[complete.id, 'complete.txt', 8]],
  )
  assert.deepEqual(
    (await readdir(join(dataDir, 'files'))).sort(),
    [`${complete.id}.data`, `${complete.id}.json`, 'tmp'].sort(),
  )
})
