/**
 * `bundlegate host <dir>...` as its own process (docs/host.md): two JavaScript bundles in one process answer
 * through the gateway; SIGTERM stops both through their own shutdown and the command exits 0.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { test } from 'node:test'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { answered, hostBundleDir } from '../helpers/host-bundles.ts'
import { REPO_ROOT, within } from '../helpers/processes.ts'

test('bundlegate host runs two bundles in one process; SIGTERM stops both and exits 0', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const dirs = [await hostBundleDir('clia'), await hostBundleDir('clib')]
  for (const d of dirs) defer(() => rm(d, { recursive: true, force: true }))
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(
    process.execPath,
    [
      '--conditions=bundlegate-dev',
      '--import',
      'tsx',
      'src/cli/bin.ts',
      'host',
      ...dirs,
      '--broker',
      gw.brokerUrl,
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let err = ''
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  defer(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const get = async (resource: string) =>
    (await gw.controller.core.request({ method: 'get', resource })).message
  const a = (await answered(get, '/clia/who')).data as { pid: number; threadId: number }
  const b = (await answered(get, '/clib/who')).data as { pid: number; threadId: number }
  assert.equal(a.pid, child.pid, 'bundle a runs in the host process')
  assert.equal(b.pid, child.pid, 'bundle b runs in the same process')
  assert.notEqual(a.threadId, b.threadId)
  assert.match(err, /2 bundle\(s\) in process \d+/)
  child.kill('SIGTERM')
  assert.equal(await within(exited, 15_000, 'the host to exit'), 0, err)
  assert.match(err, /clia stopped/)
  assert.match(err, /clib stopped/)
  for (const r of ['/clia/who', '/clib/who']) assert.equal((await get(r)).code, 503, `${r} offline at once`)
})
