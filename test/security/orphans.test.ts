/**
 * Issue 12, part 4: children die with the gateway. After a kill -9 of `bundlegate start --example` (or of
 * `bundlegate run`), the bundle process it spawned must be gone within a bounded wait, not keep running with
 * ppid 1, one more per crash (src/process/spawn-child.ts: setpriv --pdeathsig KILL, and the lifeline pipe the SDK
 * watches). A Python bundle, which cannot cooperate, is covered by the death signal alone.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { deathSignalLauncher } from '../../src/process/index.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'
import { childrenOf, isAlive, spawnCli } from '../helpers/gateway-process.ts'
import { copyExampleDir } from '../helpers/processes.ts'

/** How long a child may take to go after its parent was killed (the kernel's SIGKILL is immediate; EOF too). */
const GONE_WITHIN_MS = 10_000

function killLeftover(pid: number): void {
  try {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  } catch {
    // gone meanwhile
  }
}

async function killGatewayAndWatchExample(t: test.TestContext, env: Record<string, string>): Promise<void> {
  const defer = lifo(t)
  const bundleDir = await copyExampleDir()
  const state = await mkdtemp(join(tmpdir(), 'bg-orphans-'))
  defer(() => rm(bundleDir, { recursive: true, force: true }))
  defer(() => rm(state, { recursive: true, force: true }))
  const gw = spawnCli(
    [
      'start',
      '--example',
      '--http-port',
      '0',
      '--broker-port',
      '0',
      '--data-dir',
      join(state, 'data'),
      '--token-file',
      join(state, 'mx-api-token'),
    ],
    { BUNDLE_DIR: bundleDir, LOG_LEVEL: 'warn', ...env },
  )
  defer(() => gw.kill9())
  await gw.waitFor(/example {5}registered/, 30_000)
  const [example] = childrenOf(gw.pid, /bundles\/example\/[^/]+\/index\.(ts|js)/) // a managed bundle (docs/manager.md)
  assert.ok(example, `the example bundle is a child of the gateway; output:\n${gw.output()}`)
  defer(() => killLeftover(example.pid))
  await gw.kill9()
  const killedAt = Date.now()
  await waitFor(
    () => !isAlive(example.pid),
    GONE_WITHIN_MS,
    `the example bundle (pid ${example.pid}) to die with its gateway`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}: it is an orphan now (ppid 1 or a subreaper)`)
  })
  t.diagnostic(`gateway kill -9 → example gone: ${Date.now() - killedAt} ms`)
}

test('kill -9 of `bundlegate start --example`: the example bundle process dies with it', async (t) => {
  await killGatewayAndWatchExample(t, {})
})

test('without setpriv (BUNDLEGATE_SETPRIV=none), the SDK bundle still dies with the gateway: the lifeline pipe', async (t) => {
  await killGatewayAndWatchExample(t, { BUNDLEGATE_SETPRIV: 'none' })
})

test('kill -9 of `bundlegate run` of a Python bundle (which watches nothing): the python3 process dies with it', async (t) => {
  if (deathSignalLauncher() === undefined) {
    t.skip('setpriv --pdeathsig is not available here: nothing can stop a Python child of a killed parent')
    return
  }
  if (spawnSync('python3', ['-c', 'pass'], { stdio: 'ignore' }).status !== 0) {
    t.skip('python3 is not installed')
    return
  }
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-orphans-py-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      name: 'sleeper',
      version: '1.0.0',
      description: 'a Python program that never looks at its parent',
      role: 'model',
      ttl: 10,
      main: 'index.py',
      resources: [{ resource: '/sleeper' }],
    }),
  )
  // SIGTERM ignored too: only a SIGKILL ends it, as with a stuck bundle
  await writeFile(
    join(dir, 'index.py'),
    'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("sleeping", flush=True)\nwhile True:\n    time.sleep(1)\n',
  )
  const run = spawnCli(['run', dir, '--broker', 'mqtt://127.0.0.1:1', '--data-dir', join(dir, 'no-data')])
  defer(() => run.kill9())
  await run.waitFor(/sleeping/, 30_000)
  const [python] = childrenOf(run.pid, /index\.py/)
  assert.ok(python, `python3 is a child of bundlegate run; output:\n${run.output()}`)
  defer(() => killLeftover(python.pid))
  await run.kill9()
  const killedAt = Date.now()
  await waitFor(
    () => !isAlive(python.pid),
    GONE_WITHIN_MS,
    `the Python bundle (pid ${python.pid}) to die with bundlegate run`,
  )
  t.diagnostic(`bundlegate run kill -9 → python3 gone: ${Date.now() - killedAt} ms`)
})
