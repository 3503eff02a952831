/**
 * The installed set survives a gateway restart (docs/manager.md "Order"): enabled bundles start again lowest
 * `priority` first, each after its dependencies; a disabled one stays stopped; the gateway's stop stops them in
 * reverse start order.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { bundleParent, getJson, writeBundle } from '../helpers/managed-bundles.ts'

test('gateway restart: enabled bundles back in priority and dependency order, disabled ones not; stop in reverse', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-mgr-data-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))

  const first = await startTestGateway({ dataDir })
  // a (priority 5); b (priority 1) needs a; c (priority 2); d disabled
  for (const spec of [
    { name: 'a', priority: 5 },
    { name: 'b', priority: 1, dependencies: ['a'] },
    { name: 'c', priority: 2 },
    { name: 'd', priority: 0 },
  ]) {
    const info = await first.manager.installDirectory(await writeBundle(src.dir, spec))
    assert.equal(info.state, 'running', `${spec.name}: ${info.message}`)
  }
  await first.manager.setEnabled('d', false)
  assert.equal(first.manager.get('d')?.state, 'stopped')
  await first.close()

  const second = await startTestGateway({ dataDir })
  defer(() => second.close())
  const running: string[] = []
  const stopping: string[] = []
  second.manager.onEvent((e) => {
    if (e.state === 'running') running.push(e.name)
    if (e.state === 'stopping') stopping.push(e.name)
  })
  await waitFor(() => running.length >= 3, 60_000, `three bundles running (have ${running.join(',')})`)
  // c (2) and a (5) are ready at once, lowest priority first; b (1) waits for a
  assert.deepEqual(running, ['c', 'a', 'b'])
  assert.equal(second.manager.get('d')?.state, 'stopped')
  assert.equal(second.manager.get('d')?.enabled, false)
  for (const name of ['a', 'b', 'c']) assert.equal((await getJson(second, `/${name}`)).status, 200, name)
  assert.deepEqual(second.manager.unavailable('/d'), { name: 'd', state: 'stopped', nextRetryAt: null })
  await second.close()
  assert.deepEqual(stopping, ['b', 'a', 'c'], 'stopped in reverse start order')
})
