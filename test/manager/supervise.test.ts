/**
 * The bundle manager supervising real processes (docs/manager.md "Restart policy", "Memory"): kill -9 → restarted
 * and answering; a bundle that exits at once → backoff, then broken within the window, re-armed by a manual start;
 * a bundle over its memory limit restarted; a Python (paho) bundle managed like a TypeScript one.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import {
  bundleParent,
  getJson,
  pahoPython,
  waitState,
  writeBundle,
  writePythonBundle,
} from '../helpers/managed-bundles.ts'

test('kill -9 of a managed bundle: restarted after the backoff and answering again', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway()
  defer(() => gw.close())
  const dir = await writeBundle(src.dir, { name: 'alpha' })
  const installed = await gw.manager.installDirectory(dir)
  assert.equal(installed.state, 'running', installed.message)
  const first = await getJson(gw, '/alpha')
  assert.equal(first.status, 200)
  const pid = installed.pid
  assert.equal(first.body.pid, pid)
  assert.ok(pid)

  const killedAt = Date.now()
  process.kill(pid, 'SIGKILL')
  await waitState(gw, 'alpha', 'backoff', 5000)
  let again = await getJson(gw, '/alpha')
  while (again.status !== 200 || again.body.pid === pid) {
    assert.ok(Date.now() - killedAt < 20_000, 'answering again within 20 s')
    await new Promise((r) => setTimeout(r, 20))
    again = await getJson(gw, '/alpha')
  }
  t.diagnostic(
    `kill -9 → first 200 from the new process: ${Date.now() - killedAt} ms (TypeScript through tsx)`,
  )
  const info = gw.manager.get('alpha')
  assert.equal(info?.restarts, 1)
  assert.equal(info?.lastExit?.signal, 'SIGKILL')
  assert.equal(info?.lastExit?.reason, 'exit')
  assert.notEqual(info?.pid, pid)
})

test('a bundle that exits at once: backoff, then broken within the window, 503 routes; a manual start re-arms it', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway({
    manager: {
      restartInitialMs: 50,
      restartMaxMs: 200,
      crashLoopFailures: 3,
      crashLoopWindowSec: 60,
      brokenRetrySec: 3600,
    },
  })
  defer(() => gw.close())
  const states: string[] = []
  gw.manager.onEvent((e) => {
    if (e.name === 'quitter' && states.at(-1) !== e.state) states.push(e.state)
  })
  const dir = await writeBundle(src.dir, { name: 'quitter', behaviour: 'exit' })
  const info = await gw.manager.installDirectory(dir)
  assert.equal(info.state, 'backoff')
  assert.equal(info.lastExit?.code, 3)
  await waitState(gw, 'quitter', 'broken', 15_000)
  assert.deepEqual(states.slice(0, 2), ['starting', 'backoff'])
  assert.ok(states.filter((s) => s === 'starting').length >= 3, states.join(' '))
  const broken = gw.manager.get('quitter')
  assert.ok(broken?.nextRetryAt, 'a broken bundle has its next try')
  assert.ok(Date.parse(broken.nextRetryAt) - Date.now() > 3_000_000)
  assert.match(broken.message, /3 failures/)
  assert.deepEqual(gw.manager.unavailable('/quitter?x=1'), {
    name: 'quitter',
    state: 'broken',
    nextRetryAt: broken.nextRetryAt,
  })
  const tail = await gw.manager.tail('quitter', 200)
  assert.ok(tail.some((l) => l.stream === 'stderr' && l.line === 'giving up at once'))
  assert.ok(tail.some((l) => l.stream === 'manager' && /-> broken/.test(l.line)))

  // a manual start re-arms it: its first failure is a backoff again, not broken
  const restarted = await gw.manager.start('quitter')
  assert.equal(restarted.state, 'backoff', restarted.message)
})

test('a bundle over its memory limit for two samples is restarted, counted as memory-limit', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway({ manager: { memoryLimitMb: 160, memorySampleSec: 0.2 } })
  defer(() => gw.close())
  const dir = await writeBundle(src.dir, { name: 'hog', behaviour: 'memory-hog' })
  const info = await gw.manager.installDirectory(dir)
  assert.equal(info.state, 'running', info.message)
  assert.equal(info.memoryLimitBytes, 160 * 1024 * 1024)
  await waitFor(() => gw.manager.get('hog')?.lastExit?.reason === 'memory-limit', 30_000, 'the memory guard')
  const tail = await gw.manager.tail('hog', 100)
  assert.ok(tail.some((l) => /over its memory limit/.test(l.line)))
  await waitFor(() => (gw.manager.get('hog')?.restarts ?? 0) >= 1, 10_000, 'the restart')
  await gw.manager.stop('hog')
})

test('memory of a running bundle is sampled (its process tree, from /proc)', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway({ manager: { memorySampleSec: 0.2 } })
  defer(() => gw.close())
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'measured' }))
  await waitFor(() => (gw.manager.get('measured')?.rssBytes ?? 0) > 10_000_000, 5000, 'an RSS sample')
})

test('a Python (paho-mqtt) bundle is managed like a TypeScript one', async (t) => {
  const python = pahoPython()
  if (!python) {
    t.skip('python3 with paho-mqtt not available')
    return
  }
  const defer = lifo(t)
  const saved = process.env.BUNDLEGATE_PYTHON
  process.env.BUNDLEGATE_PYTHON = python
  defer(() => {
    if (saved === undefined) delete process.env.BUNDLEGATE_PYTHON
    else process.env.BUNDLEGATE_PYTHON = saved
  })
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway()
  defer(() => gw.close())
  const info = await gw.manager.installDirectory(await writePythonBundle(src.dir, 'snake'))
  assert.equal(info.state, 'running', info.message)
  const r = await getJson(gw, '/snake')
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.equal(r.body.python, true)
  assert.equal(r.body.pid, info.pid)
  assert.match(String(r.body.cwd), /bundles\/snake\/1\.0\.0$/)
  const tail = await gw.manager.tail('snake', 50)
  assert.ok(tail.some((l) => l.stream === 'stdout' && l.line === 'registered'))

  process.kill(info.pid as number, 'SIGKILL')
  await waitFor(() => (gw.manager.get('snake')?.restarts ?? 0) === 1, 10_000, 'the restart')
  await waitState(gw, 'snake', 'running')
  assert.equal((await getJson(gw, '/snake')).status, 200)
  const stopped = await gw.manager.stop('snake')
  assert.equal(stopped.state, 'stopped')
  assert.equal(stopped.lastExit?.reason, 'stopped')
})

test('stop: SIGTERM, then SIGKILL after manager.stopTimeoutSec for a bundle that ignores it', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway({ manager: { stopTimeoutSec: 1, startupTimeoutSec: 120 } })
  defer(() => gw.close())
  const info = await gw.manager.installDirectory(
    await writeBundle(src.dir, { name: 'stubborn', behaviour: 'ignore-sigterm' }),
    {
      start: false,
    },
  )
  assert.equal(info.state, 'installed')
  void gw.manager.start('stubborn')
  await waitFor(() => gw.manager.get('stubborn')?.pid !== null, 10_000, 'a pid')
  await new Promise((r) => setTimeout(r, 1500)) // its SIGTERM handler is installed
  const stopped = await gw.manager.stop('stubborn')
  assert.equal(stopped.state, 'stopped')
  assert.equal(stopped.lastExit?.signal, 'SIGKILL')
  assert.equal(stopped.lastExit?.reason, 'stopped')
  const tail = await gw.manager.tail('stubborn', 20)
  assert.ok(
    tail.some((l) => l.line === 'SIGTERM ignored'),
    JSON.stringify(tail),
  )
})
