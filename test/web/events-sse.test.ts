/**
 * `GET /api/v1/events` over real HTTP on loopback (http-api.md §6): pattern filtering, Last-Event-ID replay and
 * gaps, heartbeats, authentication ([HA-3] header, Bearer, query token on the push channel only, [HA-4] 401),
 * gateway events on /bundles/<name> and admin-only /tokens/<id>, client limits and shutdown.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import type { Gateway } from '../../src/server.ts'
import { openSse, type SseClient, startEventsGateway } from '../helpers/events.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'

type Gw = Gateway & { rootToken: string }

/** POST /api/v1/tokens with the root token; returns {id, token}. */
async function makeToken(gw: Gw, scope: 'read' | 'readwrite'): Promise<{ id: string; token: string }> {
  const res = await fetch(`${gw.httpUrl}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
    body: JSON.stringify({ description: `events test ${scope}`, scope }),
  })
  assert.equal(res.status, 201)
  return (await res.json()) as { id: string; token: string }
}

function eventsUrl(gw: Gw, patterns: string[], extra = ''): string {
  const q = patterns.map((p) => `resource=${encodeURIComponent(p)}`).join('&')
  return `${gw.httpUrl}/api/v1/events?${q}${extra}`
}

/** Publishes an event in-process, as if a bundle had sent it on /controller [WP-38]. */
function emit(gw: Gw, resource: string, data: unknown = null, method = 'put'): void {
  gw.controller.core.event({ method, resource, code: 200, data: data as null })
}

describe('GET /api/v1/events (SSE)', () => {
  const cleanup = lifo({ after })
  let gw: Gw
  let read: { id: string; token: string }
  const open = async (patterns: string[], headers?: Record<string, string>, extra = '') => {
    const c = await openSse(eventsUrl(gw, patterns, extra), headers ?? { 'mx-api-token': gw.rootToken })
    cleanup(() => c.close())
    return c
  }

  before(async () => {
    gw = await startEventsGateway({ events: { heartbeatMs: 200, replayEvents: 5, maxClients: 40 } })
    cleanup(() => gw.close())
    read = await makeToken(gw, 'read')
  })

  test('a stream: text/event-stream, retry and a connected comment, then id + data {resource, method, code, data, time}', async () => {
    const c = await open(['/s/+'])
    assert.equal(c.status, 200)
    assert.match(String(c.headers['content-type']), /^text\/event-stream/)
    assert.equal(c.headers['cache-control'], 'no-cache, no-transform')
    await waitFor(() => c.comments.includes('connected'), 2000, 'the connected comment')
    emit(gw, '/s/1?q=2', { v: 1 }, 'post')
    await c.waitForEvents(1)
    const [e] = c.events()
    assert.ok(e)
    assert.equal(e.resource, '/s/1?q=2')
    assert.equal(e.method, 'post')
    assert.equal(e.code, 200)
    assert.deepEqual(e.data, { v: 1 })
    assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.ok(Number.isSafeInteger(e.id) && e.id > 0)
  })

  test('pattern filtering: + is one level, # everything below, several patterns per client, no cross-talk', async () => {
    const a = await open(['/f/x/+', '/f/end'])
    const b = await open(['/f/x/#', '/f/y', '/f/end'])
    const c = await open(['/f/z', '/f/end'])
    const d = await open(['/f/+/status', '/f/end'])
    for (const r of [
      '/f/x/1',
      '/f/x/1/2',
      '/f/y',
      '/f/y/1',
      '/f/z?q=1',
      '/f/xx/1',
      '/f/a/status',
      '/f/a/b/status',
    ])
      emit(gw, r)
    emit(gw, '/f/end')
    for (const cl of [a, b, c, d]) await waitFor(() => cl.events().some((e) => e.resource === '/f/end'))
    const got = (cl: SseClient) => cl.events().map((e) => e.resource)
    assert.deepEqual(got(a), ['/f/x/1', '/f/end'])
    assert.deepEqual(got(b), ['/f/x/1', '/f/x/1/2', '/f/y', '/f/end'])
    assert.deepEqual(got(c), ['/f/z?q=1', '/f/end'])
    assert.deepEqual(got(d), ['/f/a/status', '/f/end'])
    const ids = b.events().map((e) => e.id)
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
      'ids increase',
    )
  })

  test('Last-Event-ID resumes exactly after the last event seen; then live events follow', async () => {
    const first = await open(['/r/#'])
    emit(gw, '/r/1', 1)
    emit(gw, '/r/2', 2)
    await first.waitForEvents(2)
    first.close()
    const last = first.events()[1]?.id as number
    emit(gw, '/r/3', 3)
    emit(gw, '/other', 'not for r')
    emit(gw, '/r/4', 4)
    const again = await open(['/r/#'], { 'mx-api-token': gw.rootToken, 'last-event-id': String(last) })
    await again.waitForEvents(2)
    emit(gw, '/r/5', 5)
    await again.waitForEvents(3)
    assert.deepEqual(
      again.events().map((e) => e.data),
      [3, 4, 5],
    )
    assert.ok(!again.messages.some((m) => m.event === 'gap'))
    // the lastEventId query parameter does the same for clients that cannot set headers
    const viaQuery = await open(['/r/#'], undefined, `&lastEventId=${last}`)
    await viaQuery.waitForEvents(3)
    assert.deepEqual(
      viaQuery.events().map((e) => e.data),
      [3, 4, 5],
    )
  })

  test('an id that fell out of the ring: an "event: gap" first, then what the ring still holds', async () => {
    const c = await open(['/g/#'])
    emit(gw, '/g/0', 0)
    await c.waitForEvents(1)
    c.close()
    const last = c.events()[0]?.id as number
    for (let n = 1; n <= 8; n++) emit(gw, `/g/${n}`, n) // the ring keeps 5
    const again = await open(['/g/#'], { 'mx-api-token': gw.rootToken, 'last-event-id': String(last) })
    await again.waitForEvents(5)
    assert.equal(again.messages[0]?.event, 'gap')
    const gap = JSON.parse(again.messages[0]?.data ?? '{}') as { lastEventId: number; oldestId: number }
    assert.equal(gap.lastEventId, last)
    assert.equal(gap.oldestId, again.events()[0]?.id)
    assert.deepEqual(
      again.events().map((e) => e.data),
      [4, 5, 6, 7, 8],
    )
  })

  test('a Last-Event-ID that is not an id answers 400', async () => {
    const c = await openSse(eventsUrl(gw, ['/x']), { 'mx-api-token': gw.rootToken, 'last-event-id': 'abc' })
    assert.equal(c.status, 400)
    await waitFor(() => c.ended)
    assert.equal(JSON.parse(c.body).code, 'GW_ERR_BAD_REQUEST')
  })

  test('HEAD and other methods on /api/v1/events and /api/v1/ws answer 405 at once (no stream held open)', async () => {
    for (const [method, path] of [
      ['HEAD', '/api/v1/events?resource=/x'],
      ['POST', '/api/v1/events?resource=/x'],
      ['HEAD', '/api/v1/ws'],
    ] as const) {
      const res = await fetch(`${gw.httpUrl}${path}`, {
        method,
        headers: { 'mx-api-token': gw.rootToken },
        signal: AbortSignal.timeout(5000),
      })
      assert.equal(res.status, 405, `${method} ${path}`)
    }
  })

  test('heartbeat comments every events.heartbeatMs', async () => {
    const c = await open(['/hb'])
    await waitFor(() => c.comments.filter((x) => x === 'heartbeat').length >= 2, 3000, 'two heartbeats')
  })

  test('no pattern, a bad pattern: 400 GW_ERR_EVENTS_PATTERN with the reason', async () => {
    for (const [url, re] of [
      [`${gw.httpUrl}/api/v1/events`, /at least one \?resource=/],
      [eventsUrl(gw, ['/a+']), /whole level/],
      [eventsUrl(gw, ['/#/a']), /last level/],
      [eventsUrl(gw, ['nope']), /must start with/],
    ] as const) {
      const res = await fetch(url, { headers: { 'mx-api-token': gw.rootToken } })
      assert.equal(res.status, 400, url)
      const body = (await res.json()) as { code: string; message: string }
      assert.equal(body.code, 'GW_ERR_EVENTS_PATTERN')
      assert.match(body.message, re)
    }
  })

  test('a read token subscribes by header, Bearer or ?mx-api-token=; none → 401 REQUIRED, a bad one → 401 INVALID', async () => {
    for (const c of [
      await open(['/auth/#'], { 'mx-api-token': read.token }),
      await open(['/auth/#'], { authorization: `Bearer ${read.token}` }),
      await open(['/auth/#'], {}, `&mx-api-token=${read.token}`),
    ])
      assert.equal(c.status, 200)
    const none = await openSse(eventsUrl(gw, ['/auth/#']), {})
    assert.equal(none.status, 401)
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="bundlegate"')
    const bad = await openSse(`${eventsUrl(gw, ['/auth/#'])}&mx-api-token=bgt_nope`, {})
    assert.equal(bad.status, 401)
    await waitFor(() => none.ended && bad.ended)
    assert.equal(JSON.parse(none.body).code, 'GW_ERR_AUTH_REQUIRED')
    assert.equal(JSON.parse(bad.body).code, 'GW_ERR_AUTH_INVALID')
  })

  test('the query token works on the push channel only: other paths answer 401 and no bundle sees the call', async () => {
    const seen: string[] = []
    const bundle = createBundle({
      manifest: {
        name: 'qt',
        version: '1',
        description: 'q',
        role: 'model',
        ttl: 5,
        resources: [{ resource: '/qt' }],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/qt', (m) => {
      seen.push(m.resource)
      return { ok: true }
    })
    await bundle.start()
    cleanup(() => bundle.stop())
    for (const path of ['/api/v1/qt', '/api/v1/bundles', '/api/v1/tokens']) {
      const res = await fetch(`${gw.httpUrl}${path}?mx-api-token=${gw.rootToken}`)
      assert.equal(res.status, 401, path)
      assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_AUTH_REQUIRED')
    }
    assert.deepEqual(seen, [])
    const ok = await fetch(`${gw.httpUrl}/api/v1/qt`, { headers: { 'mx-api-token': gw.rootToken } })
    assert.equal(ok.status, 200)
    assert.deepEqual(seen, ['/qt'])
  })

  test("token events /tokens/<id> reach admin clients only, without the secret; a revoked token's stream closes", async () => {
    const admin = await open(['/tokens/#', '/t-end'])
    const reader = await open(['/tokens/#', '/#'], { 'mx-api-token': read.token })
    const victim = await makeToken(gw, 'read')
    const victimStream = await open(['/v/#'], { 'mx-api-token': victim.token })
    assert.equal(victimStream.status, 200)
    const del = await fetch(`${gw.httpUrl}/api/v1/tokens/${victim.id}`, {
      method: 'DELETE',
      headers: { 'mx-api-token': gw.rootToken },
    })
    assert.equal(del.status, 204)
    // revoking again is not a new event
    await fetch(`${gw.httpUrl}/api/v1/tokens/${victim.id}`, {
      method: 'DELETE',
      headers: { 'mx-api-token': gw.rootToken },
    })
    emit(gw, '/t-end')
    await waitFor(() => admin.events().some((e) => e.resource === '/t-end'))
    await waitFor(() => reader.events().some((e) => e.resource === '/t-end'))
    const tokenEvents = admin.events().filter((e) => e.resource === `/tokens/${victim.id}`)
    assert.deepEqual(
      tokenEvents.map((e) => e.method),
      ['post', 'delete'],
    )
    const created = tokenEvents[0]?.data as Record<string, unknown>
    assert.equal(created.id, victim.id)
    assert.equal(created.scope, 'read')
    assert.equal(created.revokedAt, null)
    assert.equal(typeof (tokenEvents[1]?.data as Record<string, unknown> | undefined)?.revokedAt, 'string')
    assert.ok(!JSON.stringify(admin.messages).includes(victim.token), 'the secret is never sent')
    assert.deepEqual(
      reader.events().filter((e) => e.resource.startsWith('/tokens/')),
      [],
      'a read client sees no token event',
    )
    await waitFor(() => victimStream.ended, 2000, "the revoked token's stream to end")
  })

  test('bundle events on /bundles/<name>: registered (post), offline (put), deregistered (delete) + registered + online', async () => {
    const c = await open(['/bundles/lifecycle'])
    const make = () =>
      createBundle({
        manifest: {
          name: 'lifecycle',
          version: '1',
          description: 'life',
          role: 'model',
          ttl: 5,
          resources: [{ resource: '/life', methods: ['get'] }],
        },
        brokerUrl: gw.brokerUrl,
        logger: silentLogger(),
        signals: false,
      }).get('/life', () => ({}))
    const first = make()
    await first.start()
    await c.waitForEvents(1)
    await first.stop() // says offline on its presence topic: the controller marks it offline
    await c.waitForEvents(2)
    const second = make()
    await second.start() // DELETE then POST: deregistered, registered, and online again
    cleanup(() => second.stop())
    await c.waitForEvents(5)
    const seen = c.events().map((e) => {
      const d = e.data as { change: string; online: boolean; name: string; resources: unknown }
      return [e.method, d.change, d.online, d.name]
    })
    assert.deepEqual(seen, [
      ['post', 'registered', true, 'lifecycle'],
      ['put', 'offline', false, 'lifecycle'],
      ['delete', 'deregistered', false, 'lifecycle'],
      ['post', 'registered', true, 'lifecycle'],
      ['put', 'online', true, 'lifecycle'],
    ])
    assert.deepEqual((c.events()[0]?.data as { resources: unknown } | undefined)?.resources, [
      { resource: '/life', methods: ['get'] },
    ])
  })

  test("a bundle's event on a gateway resource (/bundles/…, /tokens/…) is not pushed", async () => {
    const c = await open(['/bundles/#', '/tokens/#', '/spoof-end'])
    emit(gw, '/bundles/fake', { change: 'offline' })
    emit(gw, '/tokens/tk_fake', { scope: 'admin' })
    emit(gw, '/spoof-end')
    await c.waitForEvents(1)
    assert.deepEqual(
      c.events().map((e) => e.resource),
      ['/spoof-end'],
    )
  })
})

describe('GET /api/v1/events: limits and shutdown', () => {
  test('events.maxClients: one more client gets 503 GW_ERR_EVENTS_TOO_MANY_CLIENTS; a freed slot is reusable', async (t) => {
    const defer = lifo(t)
    const gw = await startEventsGateway({ events: { maxClients: 2 } })
    defer(() => gw.close())
    const h = { 'mx-api-token': gw.rootToken }
    const a = await openSse(eventsUrl(gw, ['/a']), h)
    const b = await openSse(eventsUrl(gw, ['/a']), h)
    defer(() => a.close())
    defer(() => b.close())
    const c = await openSse(eventsUrl(gw, ['/a']), h)
    assert.equal(c.status, 503)
    await waitFor(() => c.ended)
    assert.equal(JSON.parse(c.body).code, 'GW_ERR_EVENTS_TOO_MANY_CLIENTS')
    a.close()
    await waitFor(() => a.ended)
    let d: SseClient | undefined
    for (let i = 0; i < 50 && d?.status !== 200; i++) {
      d?.close()
      d = await openSse(eventsUrl(gw, ['/a']), h)
      if (d.status !== 200) await new Promise((r) => setTimeout(r, 20))
    }
    defer(() => d?.close())
    assert.equal(d?.status, 200)
  })

  test('closing the gateway ends open streams at once (they never hold close() up)', async (t) => {
    const gw = await startEventsGateway()
    const c = await openSse(eventsUrl(gw, ['/a']), { 'mx-api-token': gw.rootToken })
    t.after(() => c.close())
    assert.equal(c.status, 200)
    const started = Date.now()
    await gw.close()
    t.diagnostic(`gateway close with an open stream: ${Date.now() - started} ms`)
    await waitFor(() => c.ended, 2000, 'the stream to end')
  })
})
