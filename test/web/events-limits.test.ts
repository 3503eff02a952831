/**
 * Slow consumers on the push channel: a client that never reads is dropped with a logged reason once its unsent
 * data passes `events.clientBufferBytes`, so the gateway never buffers without bound; other clients are unaffected.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { setImmediate as tick } from 'node:timers/promises'
import { openSse, openWs, startEventsGateway } from '../helpers/events.ts'
import { lifo, logSink, waitFor } from '../helpers/gateway.ts'

const LIMIT = 64 * 1024
const EVENT_DATA_CHARS = 32 * 1024

/** An HTTP client that sends the request, waits for the response head, then never reads again. */
async function stalledSseClient(port: number, path: string, token: string): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nmx-api-token: ${token}\r\n\r\n`)
  let head = ''
  await new Promise<void>((resolve) => {
    const onData = (d: Buffer) => {
      head += d.toString()
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData)
        socket.pause() // from now on nothing is read: the kernel buffers fill, then the gateway's
        resolve()
      }
    }
    socket.on('data', onData)
  })
  assert.match(head, /^HTTP\/1\.1 200/)
  return socket
}

/**
 * Publishes big events one per event-loop turn (a reading client keeps up; a burst larger than the limit would drop
 * any client, which then resumes with Last-Event-ID) until `done()` or `max` events.
 */
async function flood(emit: (n: number) => void, done: () => boolean, max = 3000): Promise<number> {
  let n = 0
  while (n < max && !done()) {
    emit(n++)
    await tick()
  }
  return n
}

test('SSE: a client that never reads is dropped ("slow consumer", buffered bytes bounded); a reading client gets everything', async (t) => {
  const defer = lifo(t)
  const sink = logSink('debug')
  const gw = await startEventsGateway({
    events: { clientBufferBytes: LIMIT, replayBytes: 1 << 20 },
    logger: sink.logger,
  })
  defer(() => gw.close())
  const port = Number(new URL(gw.httpUrl).port)
  const stalled = await stalledSseClient(port, '/api/v1/events?resource=/big/%23', gw.rootToken)
  defer(() => stalled.destroy())
  const res = await fetch(`${gw.httpUrl}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ description: 'reader', scope: 'read' }),
  })
  const readToken = (await res.json()) as { id: string; token: string }
  const reader = await openSse(`${gw.httpUrl}/api/v1/events?resource=/big/%23`, {
    'mx-api-token': readToken.token,
  })
  defer(() => reader.close())
  const payload = 'x'.repeat(EVENT_DATA_CHARS)
  const dropped = () => sink.lines.find((l) => l.msg === 'push client dropped')
  const rssBefore = process.memoryUsage().rss
  const sent = await flood(
    (n) => gw.controller.core.event({ method: 'put', resource: `/big/${n}`, code: 200, data: payload }),
    () => dropped() !== undefined,
  )
  const line = dropped()
  assert.ok(line, `the stalled client was dropped (after ${sent} events)`)
  t.diagnostic(
    `dropped after ${sent} events of ${EVENT_DATA_CHARS} B (${((sent * EVENT_DATA_CHARS) / 1048576).toFixed(1)} MiB published); ` +
      `buffered at drop ${line.bufferedBytes} B; rss +${((process.memoryUsage().rss - rssBefore) / 1048576).toFixed(1)} MiB`,
  )
  assert.equal(line.level, 40)
  assert.equal(line.reason, 'slow consumer')
  assert.equal(line.transport, 'sse')
  assert.equal(line.limitBytes, LIMIT)
  assert.notEqual(line.tokenId, readToken.id, 'the stalled client is the one dropped')
  // bounded: the limit plus at most one event frame
  assert.ok(
    (line.bufferedBytes as number) <= LIMIT + EVENT_DATA_CHARS + 512,
    `buffered ${line.bufferedBytes}`,
  )
  assert.ok(sent < 3000, 'dropped long before the flood ended')
  // the stalled client's connection is gone; the reading client received every event, in order
  await waitFor(() => reader.events().length === sent, 10_000, `all ${sent} events at the reading client`)
  assert.deepEqual(
    reader.events().map((e) => e.resource),
    Array.from({ length: sent }, (_, n) => `/big/${n}`),
  )
  assert.equal(sink.lines.filter((l) => l.msg === 'push client dropped').length, 1, 'only the stalled one')
})

test('WebSocket: a client that never reads is dropped the same way (bufferedAmount)', async (t) => {
  const defer = lifo(t)
  const sink = logSink('debug')
  const gw = await startEventsGateway({
    events: { clientBufferBytes: LIMIT, replayBytes: 1 << 20 },
    logger: sink.logger,
  })
  defer(() => gw.close())
  const wsUrl = `${gw.httpUrl.replace('http', 'ws')}/api/v1/ws?resource=/big/%23`
  const stalled = await openWs(wsUrl, { 'mx-api-token': gw.rootToken })
  defer(() => stalled.ws.terminate())
  ;(stalled.ws as unknown as { _socket: Socket })._socket.pause()
  const payload = 'y'.repeat(EVENT_DATA_CHARS)
  const dropped = () => sink.lines.find((l) => l.msg === 'push client dropped')
  const sent = await flood(
    (n) => gw.controller.core.event({ method: 'put', resource: `/big/${n}`, code: 200, data: payload }),
    () => dropped() !== undefined,
  )
  const line = dropped()
  assert.ok(line, `the stalled WebSocket client was dropped (after ${sent} events)`)
  t.diagnostic(`WebSocket dropped after ${sent} events; buffered at drop ${line.bufferedBytes} B`)
  assert.equal(line.reason, 'slow consumer')
  assert.equal(line.transport, 'ws')
  assert.ok(
    (line.bufferedBytes as number) <= LIMIT + EVENT_DATA_CHARS + 512,
    `buffered ${line.bufferedBytes}`,
  )
})

test('a replay larger than the client buffer is fed as the client reads, not dropped (SSE and WebSocket)', async (t) => {
  const defer = lifo(t)
  const sink = logSink('debug')
  const gw = await startEventsGateway({
    events: { clientBufferBytes: LIMIT, replayEvents: 1000, replayBytes: 8 << 20 },
    logger: sink.logger,
  })
  defer(() => gw.close())
  const h = { 'mx-api-token': gw.rootToken }
  const first = await openSse(`${gw.httpUrl}/api/v1/events?resource=/rp/%23`, h)
  defer(() => first.close())
  gw.controller.core.event({ method: 'put', resource: '/rp/start', code: 200, data: null })
  await first.waitForEvents(1)
  first.close()
  await waitFor(
    () => sink.lines.some((l) => l.msg === 'push client disconnected'),
    5000,
    'the gateway to see it go',
  )
  const from = first.events()[0]?.id as number
  const COUNT = 300
  const chunk = 'z'.repeat(8 * 1024)
  // 2.4 MiB waiting in the ring: ~37 times the client's buffer limit
  for (let n = 0; n < COUNT; n++)
    gw.controller.core.event({ method: 'put', resource: `/rp/${n}`, code: 200, data: { n, chunk } })
  const sse = await openSse(`${gw.httpUrl}/api/v1/events?resource=/rp/%23`, {
    ...h,
    'last-event-id': String(from),
  })
  defer(() => sse.close())
  const ws = await openWs(
    `${gw.httpUrl.replace('http', 'ws')}/api/v1/ws?resource=/rp/%23&lastEventId=${from}`,
    h,
  )
  defer(() => ws.close())
  // live events published while the replay is under way come after it, in order
  gw.controller.core.event({ method: 'put', resource: '/rp/live', code: 200, data: { n: COUNT } })
  await sse.waitForEvents(COUNT + 1, 20_000)
  await waitFor(
    () => ws.messages.filter((m) => m.type === 'event').length === COUNT + 1,
    20_000,
    'the WebSocket replay',
  )
  const expected = Array.from({ length: COUNT + 1 }, (_, n) => n)
  assert.deepEqual(
    sse.events().map((e) => (e.data as { n: number }).n),
    expected,
  )
  assert.deepEqual(
    ws.messages.filter((m) => m.type === 'event').map((m) => (m.data as { n: number }).n),
    expected,
  )
  assert.ok(!sse.messages.some((m) => m.event === 'gap'))
  assert.deepEqual(
    sink.lines.filter((l) => l.msg === 'push client dropped'),
    [],
  )
})

/**
 * Publishes a marker event, seen by a first client that then leaves (so it cannot be the one dropped later), then
 * `count` events of `chars` characters that wait in the ring after it; returns the marker's id to resume from.
 */
async function ringAfterMarker(
  gw: Awaited<ReturnType<typeof startEventsGateway>>,
  sink: ReturnType<typeof logSink>,
  count: number,
  chars: number,
): Promise<number> {
  const first = await openSse(`${gw.httpUrl}/api/v1/events?resource=/rp/%23`, {
    'mx-api-token': gw.rootToken,
  })
  gw.controller.core.event({ method: 'put', resource: '/rp/mark', code: 200, data: null })
  await first.waitForEvents(1)
  const markId = first.events()[0]?.id as number
  first.close()
  await waitFor(
    () => sink.lines.some((l) => l.msg === 'push client disconnected'),
    5000,
    'the gateway to see it go',
  )
  const chunk = 'z'.repeat(chars)
  for (let n = 0; n < count; n++)
    gw.controller.core.event({ method: 'put', resource: `/rp/${n}`, code: 200, data: { n, chunk } })
  return markId
}

test('WebSocket: a resuming client that never reads holds at most the limit plus one event, then is dropped as a slow consumer', async (t) => {
  const defer = lifo(t)
  const sink = logSink('debug')
  const gw = await startEventsGateway({
    events: { clientBufferBytes: LIMIT, replayEvents: 10_000, replayBytes: 128 << 20, heartbeatMs: 1000 },
    logger: sink.logger,
  })
  defer(() => gw.close())
  // 2000 events of 32 KiB waiting in the ring: ~1000 times the client's limit
  const markId = await ringAfterMarker(gw, sink, 2000, EVENT_DATA_CHARS)
  const serverSockets: Socket[] = []
  const onUpgrade = (_req: unknown, socket: Socket) => serverSockets.push(socket)
  gw.http.server.prependListener('upgrade', onUpgrade)
  defer(() => gw.http.server.off('upgrade', onUpgrade))
  const ws = await openWs(
    `${gw.httpUrl.replace('http', 'ws')}/api/v1/ws?resource=/rp/%23&lastEventId=${markId}`,
    { 'mx-api-token': gw.rootToken },
  )
  ;(ws.ws as unknown as { _socket: Socket })._socket.pause()
  defer(() => ws.ws.terminate())
  const server = serverSockets[0]
  assert.ok(server, 'the server side of the upgrade')
  const dropped = () => sink.lines.find((l) => l.msg === 'push client dropped')
  // the gateway's own buffer for the socket, sampled until the client is dropped (within two heartbeats)
  let most = 0
  await waitFor(
    () => {
      most = Math.max(most, server.writableLength)
      return dropped() !== undefined
    },
    15_000,
    'the resuming client to be dropped',
  )
  const line = dropped()
  t.diagnostic(
    `most buffered by the gateway: ${most} B; at the drop ${line?.bufferedBytes} B (limit ${LIMIT} B)`,
  )
  assert.ok(most <= LIMIT + EVENT_DATA_CHARS + 512, `socket buffer ${most} > limit + one event`)
  assert.equal(line?.reason, 'slow consumer')
  assert.equal(line?.catchingUp, true)
  assert.ok(
    (line?.bufferedBytes as number) <= LIMIT + EVENT_DATA_CHARS + 512,
    `buffered ${line?.bufferedBytes}`,
  )
})

test('SSE: a replay with a limit below the socket highWaterMark (8 KiB, 10 KiB events) does not stall', async (t) => {
  const defer = lifo(t)
  const sink = logSink('debug')
  const gw = await startEventsGateway({ events: { clientBufferBytes: 8192 }, logger: sink.logger })
  defer(() => gw.close())
  const markId = await ringAfterMarker(gw, sink, 5, 10 * 1024)
  const sse = await openSse(`${gw.httpUrl}/api/v1/events?resource=/rp/%23`, {
    'mx-api-token': gw.rootToken,
    'last-event-id': String(markId),
  })
  defer(() => sse.close())
  gw.controller.core.event({ method: 'put', resource: '/rp/live', code: 200, data: { n: 5 } })
  // before the fix the replay waited for a 'drain' Node never emits (no write had returned false)
  await sse.waitForEvents(6, 10_000)
  assert.deepEqual(
    sse.events().map((e) => (e.data as { n: number }).n),
    [0, 1, 2, 3, 4, 5],
  )
  assert.ok(!sse.ended)
  assert.deepEqual(
    sink.lines.filter((l) => l.msg === 'push client dropped'),
    [],
  )
})
