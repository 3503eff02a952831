import assert from 'node:assert/strict'
import { test } from 'node:test'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { pick, prng } from '../helpers/prng.ts'

const SEGMENTS = [
  'echo',
  '..',
  '.',
  '%00',
  '%2e%2e',
  '%2F',
  'tokens',
  'bundles',
  '+',
  '#',
  '%',
  '%zz',
  'ü',
  '😀',
  '',
  'echo?x=1',
  ';',
  '\\',
]
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const
const TYPES = [
  'application/json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-8',
  'application/vnd.x+json',
  '',
  'multipart/form-data; boundary=x',
]
const BODIES = [
  '',
  '{}',
  '{"a":1}',
  '[1,2]',
  'null',
  '"s"',
  '{',
  'not json',
  '{"a":'.repeat(30),
  `{"pad":"${'x'.repeat(5000)}"}`,
]

test('10,000 seeded random HTTP requests: every answer is JSON {message, code} or a bundle answer, never a crash', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261126)
  const r = prng(seed)
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  let reached = 0
  let unsendable = 0
  const bundle = createBundle({
    manifest: {
      name: 'echo',
      version: '1',
      description: 'd',
      role: 'model',
      ttl: 2,
      resources: [{ resource: '/echo' }, { resource: '/echo/:x' }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.route({ resource: '/echo' }, (m) => {
    reached++
    return { method: m.method }
  })
  bundle.route({ resource: '/echo/:x' }, (m) => {
    reached++
    return { x: m.param.x ?? null }
  })
  await bundle.start()
  defer(() => bundle.stop())
  const read = gw.tokens!.create({ description: 'fuzz', scope: 'read' }).secret
  const statuses = new Map<number, number>()
  for (let i = 0; i < 10_000; i++) {
    const path = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(r, SEGMENTS)).join('/')
    const url = r() < 0.9 ? `/api/v1/${path}` : r() < 0.5 ? `/${path}` : `/api/v1/${'a/'.repeat(600)}`
    const method = pick(r, METHODS)
    const headers: Record<string, string> = {}
    const cred = r()
    if (cred < 0.6) headers['mx-api-token'] = gw.rootToken
    else if (cred < 0.75) headers['mx-api-token'] = read
    else if (cred < 0.85) headers.authorization = `Bearer ${pick(r, [gw.rootToken, 'x', '', 'bgt_'])}`
    if (r() < 0.05) headers['x-big'] = 'h'.repeat(8000)
    const hasBody = method !== 'GET' && method !== 'HEAD' && r() < 0.8
    if (hasBody) {
      const type = pick(r, TYPES)
      if (type) headers['content-type'] = type
    }
    const label = `seed ${seed} case ${i}: ${method} ${url.slice(0, 120)}`
    let res: Awaited<ReturnType<typeof gw.http.inject>>
    try {
      res = await gw.http.inject({ method, url, headers, ...(hasBody ? { payload: pick(r, BODIES) } : {}) })
    } catch (err) {
      // the test client itself refuses some URLs ('Invalid URL'): they never reach the server
      unsendable++
      assert.match((err as Error).message, /Invalid URL/, label)
      continue
    }
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    assert.ok(res.statusCode >= 200 && res.statusCode < 600, label)
    if (method === 'HEAD' || res.statusCode === 204) continue
    if (String(res.headers['content-type']).startsWith('text/html')) {
      // only the console's page is HTML [HA-2]; nothing under /api/v1 ever is
      // (the client resolves dot segments, '%2e%2e' included, before sending: compare what was sent)
      const sent = new URL(url, 'http://127.0.0.1').pathname
      assert.ok(!sent.startsWith('/api/v1') && res.statusCode === 200, `${label} → ${res.statusCode} HTML`)
      continue
    }
    const body = res.json() as Record<string, unknown>
    if (res.statusCode >= 400) {
      assert.equal(typeof body.message, 'string', `${label} → ${res.body.slice(0, 200)}`)
      assert.match(String(body.code), /^GW_ERR_/, `${label} → ${res.body.slice(0, 200)}`)
      assert.ok(!('stack' in body) && !('traceback' in body), label)
    }
    assert.notEqual(res.statusCode, 500, `${label} → ${res.body.slice(0, 300)}`)
  }
  t.diagnostic(
    `statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; reached the bundle: ${reached}; not sendable by the client: ${unsendable}`,
  )
  assert.ok(reached > 50, 'the fuzzer reaches the bundle too')
  assert.ok((statuses.get(401) ?? 0) > 50 && (statuses.get(404) ?? 0) > 50, 'and the error paths')
})
