import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ControllerCore } from '../../src/controller/index.ts'
import { createBundle } from '../../src/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { GatewayMetrics, OTHER } from '../../src/metrics/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { pick, prng } from '../helpers/prng.ts'
import { type Family, parsePrometheusText } from '../helpers/prom-text.ts'

const SEED = Number(process.env.FUZZ_SEED ?? 17)
const ALPHABET = 'abcxyz019-_.~%20/+#?=&'

function randomPath(r: () => number): string {
  const prefix = pick(r, ['/card/', '/card/', '/nope/', '/', '/controller/', '/tokens/', '/%zz', '/api/'])
  let tail = ''
  const n = Math.floor(r() * 40)
  for (let i = 0; i < n; i++) tail += pick(r, [...ALPHABET])
  return `/api/v1${prefix}${tail}`
}

function labelSets(f: Map<string, Family>, name: string): Array<Record<string, string>> {
  return (f.get(name)?.samples ?? []).filter((s) => s.name === name).map((s) => s.labels)
}

test(`label cardinality stays bounded under 10,000 random paths (seed ${SEED}; FUZZ_SEED replays)`, async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const bundle = createBundle({
    manifest: {
      name: 'card',
      version: '0.0.1',
      description: 'cardinality test bundle',
      role: 'model',
      ttl: 5,
      resources: [{ resource: '/card/:id' }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.route({ resource: '/card/:id', methods: ['get', 'post', 'put', 'delete'] }, (m) => ({
    id: m.param.id ?? null,
  }))
  await bundle.start()
  defer(() => bundle.stop())
  const patterns = new Set(gw.controller.core.components().flatMap((c) => c.patterns))
  const r = prng(SEED)
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const
  const raw = new Set<string>()
  for (let batch = 0; batch < 500; batch++) {
    const inFlight: Array<Promise<unknown>> = []
    for (let i = 0; i < 20; i++) {
      const url = randomPath(r)
      raw.add(url)
      const method = pick(r, methods)
      inFlight.push(
        gw.http.inject({
          method,
          url,
          headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
          ...(method === 'POST' || method === 'PUT' ? { payload: '{}' } : {}),
        }),
      )
    }
    await Promise.all(inFlight)
  }
  assert.ok(raw.size > 5000, `${raw.size} distinct paths`)
  const res = await gw.http.inject({
    method: 'GET',
    url: '/metrics',
    headers: { 'mx-api-token': gw.rootToken },
  })
  const f = parsePrometheusText(res.body)
  const http = labelSets(f, 'bundlegate_http_requests_total')
  const calls = labelSets(f, 'bundlegate_bundle_calls_total')
  // routes are the gateway's route templates, resources registered patterns: never a path the fuzzer made up
  const routes = new Set(http.map((l) => l.route))
  for (const route of routes)
    assert.ok(route === 'unmatched' || !raw.has(route ?? ''), `route label ${route}`)
  assert.ok(routes.size <= 20, `route classes: ${[...routes].join(' ')}`)
  for (const l of calls) {
    assert.ok(
      l.resource === 'none' || l.resource === OTHER || patterns.has(l.resource as string),
      `resource ${l.resource}`,
    )
    assert.ok(
      ['card', 'none', 'registration', 'dependency', OTHER].includes(l.bundle as string),
      `bundle ${l.bundle}`,
    )
  }
  assert.ok(http.length < 200, `${http.length} http series`)
  assert.ok(calls.length < 200, `${calls.length} bundle call series`)
  assert.ok(res.body.length < 400_000, `exposition of ${res.body.length} bytes`)
})

test('past the cap, new (bundle, pattern) pairs are counted under "other", and the overflow is counted', async () => {
  const core = new ControllerCore({ publish: () => {} }, { logger: silentLogger(), liveness: false })
  const metrics = new GatewayMetrics({ labelLimit: 3, processMetrics: false })
  metrics.bindController(core)
  try {
    for (let i = 0; i < 10; i++) {
      const r = await core.request({
        method: 'post',
        resource: '/controller/registration',
        data: { name: `b${i}`, description: 'x', role: 'model', ttl: 1, hook: [], resources: [`/b${i}/+`] },
      })
      assert.equal(r.message.code, 200)
    }
    for (let i = 0; i < 10; i++) {
      const resource = `/b${i}/item${i}`
      metrics.bundleCall({ resource, method: 'GET', outcome: 'answer', status: 200, seconds: 0.01 })
    }
    const f = parsePrometheusText(await metrics.render())
    const calls = labelSets(f, 'bundlegate_bundle_calls_total')
    const named = calls.filter((l) => l.bundle !== OTHER)
    assert.equal(named.length, 3)
    const other = f.get('bundlegate_bundle_calls_total')?.samples.find((s) => s.labels.bundle === OTHER)
    assert.equal(other?.labels.resource, OTHER)
    assert.equal(other?.value, 7)
    const overflow = f.get('bundlegate_metrics_label_overflow_total')?.samples[0]?.value ?? 0
    assert.ok(overflow >= 7, `overflow ${overflow}`)
    assert.ok(metrics.windows.view(5).length <= 4, 'the overview is capped too')
  } finally {
    metrics.close()
    core.close()
  }
})
