import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createBundle, type RequestMessage } from '../../src/index.ts'
import { lifo, logSink, startTestGateway, waitFor } from '../helpers/gateway.ts'

const manifest = (name: string, resource: string) => ({
  name,
  version: '0.0.1',
  description: `${name} test bundle`,
  role: 'model',
  ttl: 5,
  resources: [{ resource }],
})

const GENERATED = /^[0-9a-f]{12}-[0-9a-z]+$/

test('[WP-61] one request id: response header, gateway access log, the bundle, its log lines and its own outgoing call', async (t) => {
  const defer = lifo(t)
  const gwLog = logSink('debug')
  const gw = await startTestGateway({ metrics: { accessLog: true } }, gwLog.logger)
  defer(() => gw.close())
  const frontLog = logSink('debug')
  const backLog = logSink('debug')
  const seen: Array<string | undefined> = []
  const back = createBundle({
    manifest: manifest('back', '/back'),
    brokerUrl: gw.brokerUrl,
    logger: backLog.logger,
    signals: false,
  })
  back.get('/back', (m: RequestMessage) => {
    seen.push(m.requestId)
    return { ok: true }
  })
  const front = createBundle({
    manifest: manifest('front', '/front'),
    brokerUrl: gw.brokerUrl,
    logger: frontLog.logger,
    signals: false,
  })
  front.get('/front', async (m: RequestMessage) => {
    seen.push(m.requestId)
    await new Promise((r) => setTimeout(r, 5)) // the id survives awaits (AsyncLocalStorage)
    const answer = await front.publish.get('/back')
    return { back: answer.code }
  })
  await back.start()
  defer(() => back.stop())
  await front.start()
  defer(() => front.stop())

  const id = 'order-4711.retry:2'
  const r = await fetch(`${gw.httpUrl}/api/v1/front`, {
    headers: { 'mx-api-token': gw.rootToken, 'x-request-id': id },
  })
  assert.equal(r.status, 200)
  assert.deepEqual(await r.json(), { back: 200 })
  assert.equal(r.headers.get('x-request-id'), id)
  assert.deepEqual(seen, [id, id], 'message.requestId in both bundles')
  await waitFor(
    () => gwLog.lines.some((l) => l.component === 'access' && l.reqId === id),
    2000,
    'access line',
  )
  const access = gwLog.lines.find((l) => l.component === 'access' && l.reqId === id)
  assert.equal(access?.method, 'GET')
  assert.equal(access?.route, '/api/v1/*')
  assert.equal(access?.status, 200)
  assert.equal(access?.bundle, 'front')
  assert.equal(typeof access?.token, 'string')
  assert.equal(typeof access?.ms, 'number')
  assert.ok(
    frontLog.lines.some((l) => l.msg === 'request' && l.requestId === id),
    'front bundle log line',
  )
  assert.ok(
    backLog.lines.some((l) => l.msg === 'request' && l.requestId === id),
    'back bundle log line (propagated)',
  )
})

test('[HA-13] a valid incoming x-request-id is kept; an invalid one (too long, bad characters, twice) is replaced', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const idOf = async (headers: Record<string, string> | Array<[string, string]>) => {
    const h = new Headers(headers)
    h.set('mx-api-token', gw.rootToken)
    const r = await fetch(`${gw.httpUrl}/api/v1/bundles`, { headers: h })
    await r.arrayBuffer()
    return r.headers.get('x-request-id') ?? ''
  }
  const max = 'a'.repeat(128)
  assert.equal(await idOf({ 'x-request-id': max }), max)
  assert.equal(await idOf({ 'x-request-id': 'A-z_0.9:@/+=' }), 'A-z_0.9:@/+=')
  for (const bad of ['a'.repeat(129), 'has space', 'quote"d', '<script>', 'semi;colon', 'tab\there']) {
    const got = await idOf({ 'x-request-id': bad })
    assert.notEqual(got, bad)
    assert.match(got, GENERATED, `replaced: ${JSON.stringify(bad)}`)
  }
  assert.match(
    await idOf([
      ['x-request-id', 'one'],
      ['x-request-id', 'two'],
    ]),
    GENERATED,
    'sent twice',
  )
  // no header: fresh ids, different each time
  const a = await idOf({})
  const b = await idOf({})
  assert.match(a, GENERATED)
  assert.notEqual(a, b)
  // W3C traceparent: <trace-id>-<parent-id>; invalid ones are ignored
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736'
  const span = '00f067aa0ba902b7'
  assert.equal(await idOf({ traceparent: `00-${trace}-${span}-01` }), `${trace}-${span}`)
  assert.match(await idOf({ traceparent: `00-${'0'.repeat(32)}-${span}-01` }), GENERATED)
  assert.match(await idOf({ traceparent: `00-${trace.toUpperCase()}-${span}-01` }), GENERATED)
  assert.match(await idOf({ traceparent: 'garbage' }), GENERATED)
  assert.equal(await idOf({ 'x-request-id': 'mine', traceparent: `00-${trace}-${span}-01` }), 'mine')
  // a refused request carries its id too
  const r = await fetch(`${gw.httpUrl}/api/v1/bundles`, { headers: { 'x-request-id': 'refused-1' } })
  assert.equal(r.status, 401)
  assert.equal(r.headers.get('x-request-id'), 'refused-1')
})

test('an envelope requestId that is not a valid id never reaches bundle code', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const seen: Array<string | undefined> = []
  const b = createBundle({
    manifest: manifest('rid', '/rid'),
    brokerUrl: gw.brokerUrl,
    logger: logSink().logger,
    signals: false,
  })
  b.get('/rid', (m: RequestMessage) => {
    seen.push(m.requestId)
    return {}
  })
  await b.start()
  defer(() => b.stop())
  for (const requestId of ['x'.repeat(129), 'two words', 'ok-1'])
    await gw.controller.core.request({ method: 'get', resource: '/rid', requestId })
  assert.deepEqual(seen, [undefined, undefined, 'ok-1'])
})

test('the access log is off by default; the request id is still in the answer', async (t) => {
  const defer = lifo(t)
  const sink = logSink('debug')
  const gw = await startTestGateway({}, sink.logger)
  defer(() => gw.close())
  const r = await fetch(`${gw.httpUrl}/api/v1/bundles`, {
    headers: { 'mx-api-token': gw.rootToken, 'x-request-id': 'quiet-1' },
  })
  assert.equal(r.status, 200)
  assert.equal(r.headers.get('x-request-id'), 'quiet-1')
  assert.equal(sink.lines.filter((l) => l.component === 'access').length, 0)
})
