import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BundleWindows } from '../../src/metrics/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'

test('the overview window: calls per second, error rate and bucket percentiles over the last minutes; old slots age out', () => {
  let now = 1_700_000_000_000
  const w = new BundleWindows(() => now)
  for (let i = 0; i < 98; i++) w.record('a', 3, false) // bucket ≤ 4 ms
  w.record('a', 300, true) // ≤ 512 ms
  w.record('a', 900, true) // ≤ 1024 ms
  w.record('b', 1, false)
  const [a, b] = w.view(1)
  assert.equal(a?.bundle, 'a')
  assert.equal(a?.calls, 100)
  assert.equal(a?.errors, 2)
  assert.equal(a?.errorRate, 0.02)
  assert.equal(a?.p50Ms, 4)
  assert.equal(a?.p99Ms, 512)
  assert.equal(b?.calls, 1)
  now += 2 * 60_000 // two minutes later: gone from the 1-minute view, still in the 5-minute one
  assert.deepEqual(w.view(1), [])
  assert.equal(w.view(5)[0]?.calls, 100)
  now += 16 * 60_000 // beyond the 15 minutes kept
  w.record('a', 1, false)
  assert.equal(w.view(15)[0]?.calls, 1)
})

test('GET /api/v1/metrics/bundles: admin only, `minutes` clamped to 1–15, garbage means 5', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const get = async (query: string, token = gw.rootToken) => {
    const r = await fetch(`${gw.httpUrl}/api/v1/metrics/bundles${query}`, {
      headers: { 'mx-api-token': token },
    })
    return { status: r.status, body: (await r.json()) as { minutes?: number; code?: string } }
  }
  assert.equal((await get('')).body.minutes, 5)
  assert.equal((await get('?minutes=1e9')).body.minutes, 15)
  assert.equal((await get('?minutes=-3')).body.minutes, 1)
  assert.equal((await get('?minutes=abc')).body.minutes, 5)
  assert.equal((await get('?minutes=2&minutes=3')).body.minutes, 5, 'the parameter twice')
  const read = gw.tokens?.create({ scope: 'read', description: 'reader' })
  assert.ok(read)
  const refused = await get('', read.secret)
  assert.equal(refused.status, 403)
  assert.equal(refused.body.code, 'GW_ERR_SCOPE')
  // [HA-11] no bundle may register below /metrics
  const r = await gw.controller.core.request({
    method: 'post',
    resource: '/controller/registration',
    data: {
      name: 'sneaky',
      description: 'x',
      role: 'model',
      ttl: 1,
      hook: [],
      resources: ['/metrics/bundles'],
    },
  })
  assert.equal(r.message.code, 409)
})
