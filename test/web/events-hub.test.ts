/**
 * The push channel's core in memory: the hub (numbering, ring, replay, gaps, audience) and subscription patterns
 * (validation, `+`/`#` matching as the controller's [WP-24], query ignored [WP-25]).
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { EventHub, type EventSubscriber, PatternSet, type PushEvent } from '../../src/web/index.ts'

function recorder(patterns: string[], admin = false) {
  const got: PushEvent[] = []
  const set = PatternSet.fromQuery(patterns, true)
  const sub: EventSubscriber = {
    admin,
    tokenId: undefined,
    wants: (n) => set.matches(n),
    send: (e) => got.push(e),
    close: () => {},
  }
  return { sub, got }
}

describe('EventHub', () => {
  test('numbers events by one from the start time in µs, serialises {resource, method, code, data, time} once', () => {
    const hub = new EventHub({ replayEvents: 10, replayBytes: 1 << 20, now: () => Date.UTC(2026, 0, 1) })
    const a = hub.publish({ resource: '/a?x=1', method: 'put', code: 200, data: { v: 1 } })
    const b = hub.publish({ resource: '/b', method: 'post', code: null, data: null })
    assert.equal(a.id, Date.UTC(2026, 0, 1) * 1000)
    assert.equal(b.id, a.id + 1)
    assert.equal(hub.lastId, b.id)
    assert.equal(a.name, '/a')
    assert.deepEqual(JSON.parse(a.json), {
      resource: '/a?x=1',
      method: 'put',
      code: 200,
      data: { v: 1 },
      time: '2026-01-01T00:00:00.000Z',
    })
    assert.ok(Number.isSafeInteger(a.id))
  })

  test('delivers to matching subscribers only; admin-only events to admins only; unsubscribe stops delivery', () => {
    const hub = new EventHub({ replayEvents: 10, replayBytes: 1 << 20 })
    const x = recorder(['/x/+'])
    const all = recorder(['/#'])
    const admin = recorder(['/#'], true)
    const offX = hub.subscribe(x.sub)
    hub.subscribe(all.sub)
    hub.subscribe(admin.sub)
    assert.equal(hub.clients, 3)
    hub.publish({ resource: '/x/1', method: 'put', code: 200, data: 1 })
    hub.publish({ resource: '/y/1', method: 'put', code: 200, data: 2 })
    hub.publish({ resource: '/tokens/tk_1', method: 'post', code: 200, data: 3, adminOnly: true })
    offX()
    hub.publish({ resource: '/x/2', method: 'put', code: 200, data: 4 })
    assert.deepEqual(
      x.got.map((e) => e.data),
      [1],
    )
    assert.deepEqual(
      all.got.map((e) => e.data),
      [1, 2, 4],
    )
    assert.deepEqual(
      admin.got.map((e) => e.data),
      [1, 2, 3, 4],
    )
  })

  test('replay after an id in the ring: exactly the later events, no gap', () => {
    const hub = new EventHub({ replayEvents: 5, replayBytes: 1 << 20 })
    const ids = [1, 2, 3].map(
      (n) => hub.publish({ resource: `/r/${n}`, method: 'put', code: 200, data: n }).id,
    )
    const r = hub.since(ids[0] as number)
    assert.equal(r.gap, undefined)
    assert.deepEqual(
      r.events.map((e) => e.data),
      [2, 3],
    )
    assert.deepEqual(hub.since(ids[2] as number), { events: [], gap: undefined })
  })

  test('an id that fell out of the ring (count bound) gives a gap and everything still kept', () => {
    const hub = new EventHub({ replayEvents: 3, replayBytes: 1 << 20 })
    const first = hub.publish({ resource: '/r', method: 'put', code: 200, data: 0 }).id
    for (let n = 1; n < 10; n++) hub.publish({ resource: '/r', method: 'put', code: 200, data: n })
    const r = hub.since(first)
    assert.deepEqual(
      r.events.map((e) => e.data),
      [7, 8, 9],
    )
    assert.deepEqual(r.gap, { lastEventId: first, oldestId: first + 7 })
    // the id just before the oldest kept one is still a complete replay
    assert.equal(hub.since(first + 6).gap, undefined)
  })

  test('the ring is also bounded by bytes; an id from the future (another run) is a gap', () => {
    const hub = new EventHub({ replayEvents: 1000, replayBytes: 1000 })
    const big = 'x'.repeat(300)
    const first = hub.publish({ resource: '/r', method: 'put', code: 200, data: big }).id
    for (let n = 0; n < 20; n++) hub.publish({ resource: '/r', method: 'put', code: 200, data: big })
    const r = hub.since(first)
    assert.ok(r.gap)
    const bytes = r.events.reduce((s, e) => s + e.json.length, 0)
    assert.ok(bytes <= 1000, `kept ${bytes} bytes`)
    assert.equal(r.events.length, 2)
    assert.deepEqual(hub.since(hub.lastId + 50).gap, {
      lastEventId: hub.lastId + 50,
      oldestId: r.events[0]?.id,
    })
  })

  test('replayEvents 0 keeps nothing: any resume is a gap with oldestId null', () => {
    const hub = new EventHub({ replayEvents: 0, replayBytes: 1 << 20 })
    const a = hub.publish({ resource: '/r', method: 'put', code: 200, data: 1 }).id
    hub.publish({ resource: '/r', method: 'put', code: 200, data: 2 })
    assert.deepEqual(hub.since(a), { events: [], gap: { lastEventId: a, oldestId: null } })
    assert.deepEqual(hub.since(hub.lastId), { events: [], gap: undefined })
  })

  test('closeToken closes only the clients of that token', () => {
    const hub = new EventHub({ replayEvents: 1, replayBytes: 1000 })
    const closed: string[] = []
    const mk = (name: string, tokenId: string): EventSubscriber => ({
      admin: false,
      tokenId,
      wants: () => true,
      send: () => {},
      close: (reason) => closed.push(`${name}:${reason}`),
    })
    hub.subscribe(mk('a', 'tk_a'))
    hub.subscribe(mk('b', 'tk_b'))
    hub.closeToken('tk_a', 'token revoked')
    assert.deepEqual(closed, ['a:token revoked'])
  })
})

describe('PatternSet', () => {
  test('valid patterns: wildcards as whole levels only', () => {
    for (const ok of ['/', '/a', '/a/b', '/+', '/#', '/a/+/c', '/a/#', '/+/+', '/a-b_c.d/%20'])
      assert.equal(PatternSet.problem(ok), undefined, ok)
  })

  test('invalid patterns are refused with a reason', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['a/b', /must start with "\/"/],
      ['/a+', /whole level/],
      ['/a/b#', /whole level/],
      ['/#/a', /"#" must be the last level/],
      ['/a?x=1', /must not contain "\?"/],
      ['/a\nb', /control character/],
      [`/${'x'.repeat(1023)}`, /exceeds 1023 characters/],
      [42, /string/],
    ]
    for (const [p, re] of cases) assert.match(PatternSet.problem(p) ?? 'accepted', re, String(p))
  })

  test('fromQuery: none is an error when required, several are kept, the 65th is refused', () => {
    assert.throws(() => PatternSet.fromQuery(undefined, true), { code: 'GW_ERR_EVENTS_PATTERN' })
    assert.equal(PatternSet.fromQuery(undefined, false).size, 0)
    assert.deepEqual(PatternSet.fromQuery(['/a', '/b', '/a'], true).list(), ['/a', '/b'])
    assert.throws(() => PatternSet.fromQuery(['/ok', '/bad+'], true), {
      code: 'GW_ERR_EVENTS_PATTERN',
      message: /\/bad\+/,
    })
    const many = Array.from({ length: 65 }, (_, i) => `/p/${i}`)
    assert.throws(() => PatternSet.fromQuery(many, true), { message: /at most 64 patterns/ })
  })

  test("matching is the controller's: + one level, # one or more characters below, no cross-talk", () => {
    const m = (p: string, name: string) => PatternSet.fromQuery(p, true).matches(name)
    assert.equal(m('/x/+', '/x/1'), true)
    assert.equal(m('/x/+', '/x/1/2'), false)
    assert.equal(m('/x/+', '/x'), false)
    assert.equal(m('/x/+', '/xy/1'), false)
    assert.equal(m('/x/#', '/x/1/2/3'), true)
    assert.equal(m('/x/#', '/x'), false) // as the controller: '#' needs at least one character
    assert.equal(m('/x/#', '/xy/1'), false)
    assert.equal(m('/+/status', '/a/status'), true)
    assert.equal(m('/+/status', '/a/other'), false)
    assert.equal(m('/example', '/example'), true)
    assert.equal(m('/example', '/example2'), false)
    assert.equal(m('/#', '/anything/at/all'), true)
  })
})
