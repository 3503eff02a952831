/**
 * Red-team tests of the web service's HTTP bounds (issue 12): drip-feeding clients are closed after the header (or
 * request) timeout with a 408 `{message, code}`, idle keep-alive connections end, the connection cap holds, and the
 * long-lived push streams (SSE, WebSocket) are not cut by the request timeout. Everything runs on 127.0.0.1 with
 * bounded loops; times are reported as diagnostics, never asserted.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Gateway } from '../../src/server.ts'
import { openSse, openWs } from '../helpers/events.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { openSocket, rawRequest } from '../helpers/raw-http.ts'

const portOf = (gw: Gateway) => Number(new URL(gw.httpUrl).port)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('with the default bounds, six drip-feeding connections are answered 408 GW_ERR_HTTP_TIMEOUT and closed after the header timeout', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const port = portOf(gw)
  const started = Date.now()
  const clients = await Promise.all(Array.from({ length: 6 }, () => openSocket(port)))
  // runs before gw.close(): a connection left open would hold the close up
  defer(() => {
    for (const c of clients) c.socket.destroy()
  })
  for (const c of clients) c.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`)
  // one header byte every 200 ms, for at most 20 s (the old gateway kept such connections 30 s and more)
  const closedAt: number[] = []
  for (let i = 0; i < 100 && clients.some((c) => !c.closed()); i++) {
    for (const c of clients) if (!c.closed()) c.socket.write('x')
    await sleep(200)
    clients.forEach((c, n) => {
      if (c.closed() && closedAt[n] === undefined) closedAt[n] = Date.now() - started
    })
  }
  t.diagnostic(`drip-feeders closed after ${closedAt.join(', ')} ms (headersTimeoutMs 10000)`)
  for (const c of clients) {
    assert.ok(c.closed(), 'the server closed the drip-feeding connection')
    const text = c.received()
    assert.match(text, /^HTTP\/1\.1 408 /)
    assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).code, 'GW_ERR_HTTP_TIMEOUT')
  }
  // the gateway still serves
  const ok = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 500)
  assert.equal(ok.status, 200)
})

test('a body drip-fed past http.requestTimeoutMs is answered 408 and closed; an idle keep-alive connection ends after keepAliveTimeoutMs', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway({
    http: { headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 300 },
  })
  defer(() => gw.close())
  const port = portOf(gw)
  const c = await openSocket(port)
  defer(() => c.socket.destroy())
  c.socket.write(
    `POST /api/v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nmx-api-token: ${gw.rootToken}\r\n` +
      'content-type: application/json\r\ncontent-length: 1000\r\n\r\n{',
  )
  for (let i = 0; i < 50 && !c.closed(); i++) {
    c.socket.write(' ')
    await sleep(100)
  }
  assert.ok(c.closed(), 'closed while still sending its body')
  assert.match(c.received(), /^HTTP\/1\.1 408 /)
  assert.match(c.received(), /"code":"GW_ERR_HTTP_TIMEOUT"/)
  // keep-alive: one request answered, then nothing: the server closes the idle connection
  const k = await openSocket(port)
  defer(() => k.socket.destroy())
  k.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  await waitFor(() => k.closed(), 5000, 'the idle keep-alive connection to be closed')
  assert.match(k.received(), /^HTTP\/1\.1 200 /)
})

test('http.maxConnections: connections past the cap are closed unanswered; the others are served', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway({ http: { maxConnections: 4 } })
  defer(() => gw.close())
  const port = portOf(gw)
  let open = 0
  const count = setInterval(() => gw.http.server.getConnections((_e, n) => (open = n)), 10)
  defer(() => clearInterval(count))
  const held = await Promise.all(Array.from({ length: 4 }, () => openSocket(port)))
  defer(() => {
    for (const h of held) h.socket.destroy()
  })
  await waitFor(() => open === 4, 5000, 'the server to count the four connections')
  const extra = await openSocket(port)
  extra.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
  await waitFor(() => extra.closed(), 5000, 'the connection over the cap to be closed')
  assert.equal(extra.received(), '', 'closed without an answer')
  // the connections within the cap are served
  const first = held[0] as (typeof held)[number]
  first.socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`)
  await waitFor(() => first.closed(), 5000, 'the answer')
  assert.match(first.received(), /^HTTP\/1\.1 200 /)
  // one place is free again: a new connection is served
  await waitFor(() => open === 3, 5000, 'the server to see it closed')
  const again = await rawRequest(
    port,
    `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n`,
  )
  assert.equal(again.status, 200, again.raw)
})

test('an SSE stream and a WebSocket outlive http.requestTimeoutMs and http.keepAliveTimeoutMs: streams are not cut', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway({
    http: { headersTimeoutMs: 200, requestTimeoutMs: 300, keepAliveTimeoutMs: 200 },
    events: { heartbeatMs: 100 },
  })
  defer(() => gw.close())
  const sse = await openSse(`${gw.httpUrl}/api/v1/events?resource=/x`, { 'mx-api-token': gw.rootToken })
  defer(() => sse.close())
  assert.equal(sse.status, 200)
  const ws = await openWs(`${gw.httpUrl.replace('http://', 'ws://')}/api/v1/ws`, {
    'mx-api-token': gw.rootToken,
  })
  defer(() => ws.close())
  // several times the request timeout, and past Node's checking interval
  await sleep(2000)
  const beats = sse.comments.length
  await waitFor(() => sse.comments.length > beats, 2000, 'a heartbeat after 2 s')
  assert.equal(sse.ended, false, 'the SSE stream is still open')
  ws.send({ type: 'ping' })
  assert.deepEqual(await ws.next((m) => m.type === 'pong'), { type: 'pong' })
})
