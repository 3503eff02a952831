/**
 * `GET /api/v1/ws` (http-api.md §6): the push channel over WebSocket. subscribe/unsubscribe messages, events as
 * {type:"event", id, resource, method, code, data, time}, JSON errors, replay, the same authentication as the
 * HTTP API on the upgrade ([HA-3], [HA-4]), admin-only token events, ping/pong keepalive.
 */
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { Gateway } from '../../src/server.ts'
import { openWs, startEventsGateway, type WsClient } from '../helpers/events.ts'
import { lifo, logSink, waitFor } from '../helpers/gateway.ts'

type Gw = Gateway & { rootToken: string }

describe('GET /api/v1/ws (WebSocket)', () => {
  const cleanup = lifo({ after })
  const sink = logSink('debug')
  let gw: Gw
  let wsBase: string
  let read: { id: string; token: string }
  const connect = async (query = '', headers?: Record<string, string>): Promise<WsClient> => {
    const c = await openWs(`${wsBase}/api/v1/ws${query}`, headers ?? { 'mx-api-token': gw.rootToken })
    cleanup(() => c.close())
    return c
  }
  const emit = (resource: string, data: unknown = null) =>
    gw.controller.core.event({ method: 'put', resource, code: 200, data: data as null })

  before(async () => {
    gw = await startEventsGateway({ events: { heartbeatMs: 150, replayEvents: 3 }, logger: sink.logger })
    cleanup(() => gw.close())
    wsBase = gw.httpUrl.replace(/^http/, 'ws')
    const res = await fetch(`${gw.httpUrl}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'ws read', scope: 'read' }),
    })
    read = (await res.json()) as { id: string; token: string }
  })

  test('subscribe → subscribed, matching events arrive, unsubscribe → unsubscribed and they stop', async () => {
    const c = await connect()
    c.send({ type: 'subscribe', resource: '/w/+' })
    assert.deepEqual(await c.next((m) => m.type === 'subscribed'), { type: 'subscribed', resource: '/w/+' })
    c.send({ type: 'subscribe', resource: '/w-end' })
    await c.next((m) => m.type === 'subscribed')
    emit('/w/1', { v: 1 })
    emit('/w/1/deeper', { v: 'no' })
    emit('/x/1', { v: 'no' })
    const e = await c.next((m) => m.type === 'event')
    assert.equal(e.resource, '/w/1')
    assert.equal(e.method, 'put')
    assert.equal(e.code, 200)
    assert.deepEqual(e.data, { v: 1 })
    assert.ok(Number.isSafeInteger(e.id))
    assert.match(String(e.time), /Z$/)
    c.send({ type: 'unsubscribe', resource: '/w/+' })
    assert.deepEqual(await c.next((m) => m.type === 'unsubscribed'), {
      type: 'unsubscribed',
      resource: '/w/+',
    })
    emit('/w/2', { v: 2 })
    emit('/w-end')
    await c.next((m) => m.type === 'event' && m.resource === '/w-end')
    assert.deepEqual(
      c.messages.filter((m) => m.type === 'event').map((m) => m.resource),
      ['/w/1', '/w-end'],
    )
  })

  test('bad messages get {type:"error", code, message}; the connection stays usable (ping → pong)', async () => {
    const c = await connect()
    c.send('not json')
    assert.equal((await c.next((m) => m.type === 'error')).code, 'GW_ERR_EVENTS_MESSAGE')
    c.send({ type: 'dance' })
    const unknown = await c.next((m) => m.type === 'error')
    assert.equal(unknown.code, 'GW_ERR_EVENTS_MESSAGE')
    assert.match(String(unknown.message), /subscribe, unsubscribe or ping/)
    c.send({ type: 'subscribe', resource: '/a+' })
    const bad = await c.next((m) => m.type === 'error')
    assert.equal(bad.code, 'GW_ERR_EVENTS_PATTERN')
    assert.equal(bad.resource, '/a+')
    c.send({ type: 'ping' })
    assert.deepEqual(await c.next((m) => m.type === 'pong'), { type: 'pong' })
  })

  test('?resource= subscribes at once; lastEventId replays (gap first when it fell out of the ring)', async () => {
    emit('/rp/0', 0)
    const first = await connect('?resource=/rp/%2B')
    emit('/rp/1', 1)
    const e1 = await first.next((m) => m.type === 'event')
    await first.close()
    emit('/rp/2', 2)
    const resumed = await connect(`?resource=/rp/%2B&lastEventId=${e1.id}`)
    assert.equal((await resumed.next((m) => m.type === 'event')).data, 2)
    for (let n = 3; n <= 7; n++) emit(`/rp/${n}`, n) // the ring keeps 3
    const late = await connect(`?resource=/rp/%2B&lastEventId=${e1.id}`)
    const gap = await late.next((m) => m.type === 'gap')
    assert.equal(gap.lastEventId, e1.id)
    await waitFor(() => late.messages.filter((m) => m.type === 'event').length === 3)
    assert.deepEqual(
      late.messages.filter((m) => m.type === 'event').map((m) => m.data),
      [5, 6, 7],
    )
  })

  test('upgrade authentication: header, Bearer or ?mx-api-token= with a read token; none or a bad one → 401', async () => {
    for (const [query, headers] of [
      ['', { 'mx-api-token': read.token }],
      ['', { authorization: `Bearer ${read.token}` }],
      [`?mx-api-token=${read.token}`, {}],
    ] as const) {
      const c = await connect(query, headers)
      c.send({ type: 'ping' })
      await c.next((m) => m.type === 'pong')
    }
    for (const [query, code] of [
      ['', 'GW_ERR_AUTH_REQUIRED'],
      ['?mx-api-token=bgt_nope', 'GW_ERR_AUTH_INVALID'],
    ] as const) {
      const err = (await openWs(`${wsBase}/api/v1/ws${query}`).then(
        () => assert.fail('upgrade accepted'),
        (e: unknown) => e,
      )) as { status: number; body: string }
      assert.equal(err.status, 401)
      assert.equal(JSON.parse(err.body).code, code)
    }
  })

  test('an upgrade elsewhere is not accepted; a plain GET /api/v1/ws answers 426', async () => {
    const err = (await openWs(`${wsBase}/api/v1/bundles`, { 'mx-api-token': gw.rootToken }).then(
      () => assert.fail('upgrade accepted'),
      (e: unknown) => e,
    )) as { status: number }
    assert.equal(err.status, 200) // an ordinary answer, not a WebSocket
    const res = await fetch(`${gw.httpUrl}/api/v1/ws`, { headers: { 'mx-api-token': gw.rootToken } })
    assert.equal(res.status, 426)
    assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_EVENTS_UPGRADE_REQUIRED')
  })

  test('token events reach admin WebSocket clients only', async () => {
    const admin = await connect('?resource=/tokens/%23&resource=/tk-end')
    const reader = await connect('?resource=/%23', { 'mx-api-token': read.token })
    const res = await fetch(`${gw.httpUrl}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'made while watched', scope: 'readwrite' }),
    })
    const made = (await res.json()) as { id: string }
    emit('/tk-end')
    const ev = await admin.next((m) => m.type === 'event')
    assert.equal(ev.resource, `/tokens/${made.id}`)
    assert.equal(ev.method, 'post')
    await reader.next((m) => m.type === 'event' && m.resource === '/tk-end')
    assert.ok(!reader.messages.some((m) => String(m.resource).startsWith('/tokens/')))
  })

  test('keepalive: a client answering pings stays; one that stops reading is dropped ("no pong")', async () => {
    const live = await connect()
    let pings = 0
    live.ws.on('ping', () => pings++)
    const mute = await connect()
    ;(mute.ws as unknown as { _socket: Socket })._socket.pause() // reads nothing, so answers no ping
    await waitFor(
      () => sink.lines.some((l) => l.msg === 'push client dropped' && l.reason === 'no pong'),
      5000,
      'the mute client to be dropped',
    )
    // the live one answers and stays, heartbeat after heartbeat
    await waitFor(() => pings >= 3, 5000, 'three pings at the live client')
    assert.equal(live.ws.readyState, live.ws.OPEN)
    live.send({ type: 'ping' })
    await live.next((m) => m.type === 'pong')
  })
})
