import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BundleError, createBundle } from '../../src/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { type Family, parsePrometheusText, sampleValue } from '../helpers/prom-text.ts'

const manifest = {
  name: 'meter',
  version: '0.0.1',
  description: 'metrics test bundle',
  role: 'model',
  ttl: 1,
  resources: [{ resource: '/meter/:id' }],
}

async function scrape(url: string, token: string): Promise<Map<string, Family>> {
  const r = await fetch(`${url}/metrics`, { headers: { 'mx-api-token': token } })
  assert.equal(r.status, 200)
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(await r.text())
}

test('GET /metrics after known traffic: the expected series, parsed by a strict text-format parser', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const bundle = createBundle({ manifest, brokerUrl: gw.brokerUrl, logger: silentLogger(), signals: false })
  bundle.get('/meter/:id', (m) => {
    if (m.param.id === 'fail') throw new BundleError(500, 'meter broke')
    if (m.param.id === 'hang') return new Promise<never>(() => {})
    return { id: m.param.id ?? null }
  })
  await bundle.start()
  defer(() => bundle.stop())
  const pattern = gw.controller.core.components().find((c) => c.name === 'meter')?.patterns[0]
  assert.ok(pattern, 'the bundle registered a pattern')

  const get = (path: string, token = gw.rootToken) =>
    fetch(`${gw.httpUrl}/api/v1${path}`, { headers: { 'mx-api-token': token } }).then(async (r) => {
      await r.arrayBuffer()
      return r.status
    })
  for (const id of ['1', '2', '3']) assert.equal(await get(`/meter/${id}?raw=${id}`), 200)
  assert.equal(await get('/meter/fail'), 500)
  assert.equal(await get('/meter/hang'), 504)
  assert.equal(await get('/nowhere/at/all'), 404)
  assert.equal(await get('/meter/1', 'not-a-token'), 401)

  const f = await scrape(gw.httpUrl, gw.rootToken)
  const call = (outcome: string, code: string) =>
    sampleValue(f, 'bundlegate_bundle_calls_total', {
      bundle: 'meter',
      resource: pattern,
      method: 'GET',
      outcome,
      code,
    })
  assert.equal(call('answer', '200'), 3)
  assert.equal(call('answer', '500'), 1)
  assert.equal(call('timeout', '504'), 1)
  assert.equal(
    sampleValue(f, 'bundlegate_bundle_calls_total', {
      bundle: 'none',
      resource: 'none',
      outcome: 'not-found',
      code: '404',
    }),
    1,
  )
  assert.equal(
    sampleValue(f, 'bundlegate_bundle_call_duration_seconds_count', {
      bundle: 'meter',
      resource: pattern,
      method: 'GET',
    }),
    5,
  )
  assert.equal(
    sampleValue(f, 'bundlegate_http_requests_total', { route: '/api/v1/*', method: 'GET', status: '200' }),
    3,
  )
  assert.equal(
    sampleValue(f, 'bundlegate_http_requests_total', { route: '/api/v1/*', method: 'GET', status: '401' }),
    1,
  )
  assert.equal(sampleValue(f, 'bundlegate_controller_ttl_expiries_total', { bundle: 'meter' }), 1)
  assert.equal(sampleValue(f, 'bundlegate_token_checks_total', { result: 'refused' }), 1)
  assert.ok((sampleValue(f, 'bundlegate_token_checks_total', { result: 'ok' }) ?? 0) >= 7) // 6 calls + the scrape
  assert.equal(sampleValue(f, 'bundlegate_bundles', { state: 'online' }), 1)
  assert.equal(sampleValue(f, 'bundlegate_controller_sessions_in_flight'), 0)
  assert.equal(sampleValue(f, 'bundlegate_controller_queue_depth'), 0)
  assert.equal(sampleValue(f, 'bundlegate_broker_clients'), 1)
  assert.ok(
    (sampleValue(f, 'bundlegate_broker_messages_received_total') ?? 0) >= 5,
    'the bundle answered over MQTT',
  )
  assert.ok(
    (sampleValue(f, 'bundlegate_broker_messages_sent_total') ?? 0) >= 5,
    'requests went out to its tunnel',
  )
  assert.ok((sampleValue(f, 'bundlegate_broker_received_bytes_total') ?? 0) > 0)
  assert.equal(sampleValue(f, 'bundlegate_push_clients'), 0)
  assert.equal(f.get('bundlegate_bundle_call_duration_seconds')?.type, 'histogram')
  assert.equal(f.get('bundlegate_http_requests_total')?.type, 'counter')
  // Node process metrics on the gateway's own registry
  assert.ok(f.has('process_cpu_user_seconds_total'))
  assert.ok(f.has('nodejs_heap_size_used_bytes'))
  // the console's overview, from the same counters
  const ov = await fetch(`${gw.httpUrl}/api/v1/metrics/bundles?minutes=5`, {
    headers: { 'mx-api-token': gw.rootToken },
  })
  assert.equal(ov.status, 200)
  const { minutes, bundles } = (await ov.json()) as {
    minutes: number
    bundles: Array<Record<string, unknown>>
  }
  assert.equal(minutes, 5)
  const meter = bundles.find((b) => b.bundle === 'meter')
  assert.equal(meter?.calls, 5)
  assert.equal(meter?.errors, 2, 'the 500 and the 504')
  assert.equal(meter?.errorRate, 0.4)
  assert.equal(typeof meter?.p50Ms, 'number')
  assert.ok((meter?.p99Ms as number) >= 512, 'the 1 s timeout is the slowest call')
  // the raw path and the query never become a label
  for (const family of f.values())
    for (const s of family.samples)
      for (const v of Object.values(s.labels))
        assert.ok(!v.includes('raw=') && v !== '/meter/1', `${s.name} ${v}`)
})

test('/metrics needs an admin token; a separate listener serves it without one and the web service then does not', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  assert.equal((await fetch(`${gw.httpUrl}/metrics`)).status, 401)
  const read = await gw.tokens?.create({ scope: 'read', description: 'reader' })
  assert.ok(read)
  const r = await fetch(`${gw.httpUrl}/metrics`, { headers: { 'mx-api-token': read.secret } })
  assert.equal(r.status, 403)
  assert.equal(((await r.json()) as { code: string }).code, 'GW_ERR_SCOPE')

  const sep = await startTestGateway({ metrics: { host: '127.0.0.1', port: 0 } })
  defer(() => sep.close())
  assert.ok(sep.metricsUrl)
  const m = await fetch(`${sep.metricsUrl}/metrics`)
  assert.equal(m.status, 200)
  const f = parsePrometheusText(await m.text())
  assert.ok(f.has('bundlegate_http_requests_total'))
  assert.equal((await fetch(`${sep.metricsUrl}/other`)).status, 404)
  const main = await fetch(`${sep.httpUrl}/metrics`, { headers: { 'mx-api-token': sep.rootToken } })
  assert.equal(main.status, 404)
})

test('metrics.enabled false: no /metrics, no overview, no registry', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway({ metrics: { enabled: false } })
  defer(() => gw.close())
  assert.equal(gw.metrics, undefined)
  const r = await fetch(`${gw.httpUrl}/metrics`, { headers: { 'mx-api-token': gw.rootToken } })
  assert.equal(r.status, 404)
})
