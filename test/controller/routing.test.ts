import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'

describe('intake', () => {
  test('[WP-2] retained deliveries and empty payloads are ignored without reply', () => {
    const h = new Harness()
    h.register('a')
    h.core.handleMessage(
      '/controller',
      JSON.stringify({ id: 9, method: 'get', resource: '/a', tunnel: 'r' }),
      {
        retain: true,
      },
    )
    h.core.handleMessage('/controller', '', {})
    assert.equal(h.out.length, 0)
  })

  test('[WP-3] non-JSON and non-object payloads are dropped without reply', () => {
    const h = new Harness()
    for (const p of ['not json', '[1,2]', '42', '"s"', 'null', '{"id":1,']) h.send(p)
    assert.equal(h.out.length, 0)
    assert.equal(h.core.stats().dropped, 6)
  })

  test('[WP-4] compact and pretty-printed encodings are handled identically', () => {
    const h = new Harness()
    const t = h.register('a')
    h.send(JSON.stringify({ id: 5, method: 'get', resource: '/a', tunnel: 'r' }, null, 4))
    assert.deepEqual(h.one(t), { id: 5, method: 'get', resource: '/a', tunnel: 'r' })
  })

  test('[WP-1] /<localId>/controller is handled exactly like /controller', () => {
    const h = new Harness({ localId: 'gw7' })
    assert.deepEqual(h.core.topics, ['/controller', '/gw7/controller'])
    const t = h.register('a')
    h.send({ id: 5, method: 'get', resource: '/a', tunnel: 'r' }, 'c', '/gw7/controller')
    assert.equal(h.one(t).id, 5)
    h.send({ id: 6, method: 'get', resource: '/a', tunnel: 'r' }, 'c', '/other/controller')
    assert.equal(h.take(t).length, 0)
  })

  test('[WP-5] a message without id, or with id 0, is routed as an event', () => {
    const h = new Harness()
    const model = h.register('m', { resources: ['/x'] })
    const view = h.register('v', { role: 'view', resources: ['/x'] })
    h.send({ method: 'put', resource: '/x', code: 200, data: 1 })
    h.send({ id: 0, method: 'put', resource: '/x', data: 2 })
    h.send({ id: 'abc', method: 'put', resource: '/x', data: 3 })
    assert.deepEqual(
      h.take(view).map((m) => m.data),
      [1, 2, 3],
    )
    assert.equal(h.take(model).length, 0)
  })

  test('[WP-6] id and no numeric code is a request; direct iff tunnel is a non-empty string', () => {
    const h = new Harness()
    const t = h.register('m', { resources: ['/x'] })
    const v = h.register('v', { role: 'view', resources: ['/x'] })
    for (const tunnel of ['', 5, null]) {
      const id = h.id()
      h.send({ id, method: 'get', resource: '/x', tunnel, code: '200' } as Envelope)
      const req = h.one(t)
      assert.equal(req.id, id)
      h.answer(req, 200, { ok: true }, 'm')
      // plain: the final answer goes to the views
      assert.equal(h.one(v).id, id)
    }
  })

  test('[WP-7] a response with an unknown id is dropped silently', () => {
    const h = new Harness()
    h.register('v', { role: 'view', resources: ['/#'] })
    h.send({ id: 4242, code: 200, method: 'get', resource: '/x', sign: ['m'] })
    assert.equal(h.out.length, 0)
    assert.equal(h.core.stats().lateResponses, 1)
  })

  test('[WP-59] with id and tunnel, payloads over 1 MiB answer 413 and resources over 1023 characters 400', () => {
    const h = new Harness()
    h.register('a')
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'r', data: 'x'.repeat(1_048_576) })
    assert.deepEqual(h.one('r'), {
      id: 1,
      code: 413,
      method: 'PUT',
      resource: '/a',
      sign: ['controller'],
      data: { message: 'payload too large', log: 'payload exceeds 1048576 bytes' },
    })
    h.send({ id: 2, method: 'get', resource: `/${'a'.repeat(1023)}`, tunnel: 'r' })
    assert.deepEqual(h.one('r').data, {
      message: 'wrong request context',
      log: "'resource' exceeds 1023 characters",
    })
    h.send({ id: 3, method: 'get', tunnel: 'r' })
    assert.deepEqual(h.one('r').data, { message: 'wrong request context', log: "need 'resource'" })
    h.send({ id: 4, method: '', resource: '/a', tunnel: 'r' })
    const r4 = h.one('r')
    assert.deepEqual(r4.data, { message: 'wrong request context', log: "need 'method'" })
    assert.equal(r4.method, '')
  })

  test('[WP-59] without a tunnel, rejections go to the views of the resource, else nowhere', () => {
    const h = new Harness()
    const v = h.register('v', { role: 'view', resources: ['/a'] })
    h.send({ id: 1, method: 'put', resource: '/a', data: 'x'.repeat(1_048_577) })
    assert.equal(h.one(v).code, 413)
    h.send({ id: 2, method: 7, resource: '/a' } as Envelope)
    assert.equal(h.one(v).code, 400)
    h.send({ id: 3, method: 'put', resource: '/nobody', data: 'x'.repeat(1_048_577) })
    assert.equal(h.out.length, 0)
  })

  test('[WP-6] a tunnel with a wildcard is no tunnel: the request is plain, nothing is published to `#`', () => {
    const h = new Harness()
    const a = h.register('a')
    const v = h.register('v', { role: 'view', resources: ['/a'] })
    for (const tunnel of ['#', 'x/+', 'a\u0000b']) {
      h.send({ id: 61, method: 'get', resource: '/a', tunnel })
      const req = h.one(a)
      h.answer(req, 200, { ok: 1 }, 'a')
      assert.equal(h.one(v).code, 200, 'the answer goes to the views, as for a plain request')
      assert.equal(h.out.filter((o) => o.topic === tunnel).length, 0)
    }
    h.send({ id: 62, method: 'get', resource: '/nope', tunnel: '#' })
    assert.equal(h.out.length, 0)
  })

  test('[WP-60] caller is stripped from requests that arrive over MQTT', () => {
    const h = new Harness()
    const t = h.register('a')
    h.send({ id: 1, method: 'get', resource: '/a', caller: { token: 'forged', scope: 'admin' } } as Envelope)
    assert.ok(!('caller' in h.one(t)))
  })
})

describe('routing', () => {
  test('[WP-10] forwarded requests keep every field, unknown keys included', () => {
    const h = new Harness()
    const t = h.register('a', { resources: ['/a/+'] })
    const req = {
      id: 31,
      method: 'PuT',
      resource: '/a/1?x=1',
      tunnel: 'r',
      data: { v: [1, { z: null }] },
      extra: { k: 1 },
      _p: 1,
    }
    h.send(req)
    assert.deepEqual(h.one(t), req)
  })

  test('[WP-25] the query string is ignored for matching and kept verbatim in every message of the session', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/network/ethernet/+'] })
    const v = h.register('v', { role: 'view', resources: ['/network/ethernet/+'] })
    h.send({ id: 8, method: 'get', resource: '/network/ethernet/1?x=/a/b&flag' })
    const req = h.one(a)
    assert.equal(req.resource, '/network/ethernet/1?x=/a/b&flag')
    h.answer(req, 200, {}, 'a')
    assert.equal(h.one(v).resource, '/network/ethernet/1?x=/a/b&flag')
  })

  test('[WP-24] every matching pattern takes part: overlapping patterns fan out', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/network/+'] })
    const b = h.register('b', { resources: ['/network/#'] })
    const c = h.register('c', { resources: ['/network/ethernet/+'] })
    h.send({ id: 8, method: 'get', resource: '/network/ethernet?x=1', tunnel: 'r' })
    assert.equal(h.take(a).length, 1)
    assert.equal(h.take(b).length, 1)
    assert.equal(h.take(c).length, 0)
  })

  test('[WP-26] a direct request for an unmatched resource answers 404 without data; a plain one gets no answer', () => {
    const h = new Harness()
    h.send({ id: 7001, method: 'get', resource: '/nope', tunnel: 'r' })
    assert.deepEqual(h.one('r'), {
      id: 7001,
      code: 404,
      method: 'GET',
      resource: '/nope',
      sign: ['controller'],
    })
    h.send({ id: 7002, method: 'get', resource: '/nope' })
    assert.equal(h.out.length, 0)
  })

  test('[WP-27] a request whose id is in flight answers 403', () => {
    const h = new Harness()
    const t = h.register('a')
    h.send({ id: 55, method: 'get', resource: '/a', tunnel: 'r' })
    h.send({ id: 55, method: 'get', resource: '/a', tunnel: 'r2' })
    assert.deepEqual(h.one('r2').data, { message: "'id' was used, please use another 'id'" })
    assert.equal(h.take(t).length, 1)
  })

  test('[WP-28] a resource subscribed only by views answers 403 request forbidden', () => {
    const h = new Harness()
    h.register('v', { role: 'view', resources: ['/#'] })
    h.send({ id: 104, method: 'get', resource: '/nope', tunnel: 'my-tunnel-1' })
    // exactly the captured reply of the original (captures/wire-mqtt-direct.txt)
    assert.deepEqual(h.one('my-tunnel-1'), {
      id: 104,
      code: 403,
      method: 'GET',
      resource: '/nope',
      sign: ['controller'],
      data: { message: 'request forbidden', log: 'resource has no subscribed model' },
    })
  })

  test('[WP-8] controller-built messages carry the method upper-cased, unknown verbs included', () => {
    const h = new Harness()
    h.register('v', { role: 'view', resources: ['/v'] })
    h.send({ id: 1, method: 'Frobnicate', resource: '/v', tunnel: 'r' })
    const r = h.one('r')
    assert.equal(r.method, 'FROBNICATE')
    assert.deepEqual(r.sign, ['controller'])
    assert.ok(!('tunnel' in r)) // [WP-9]
  })

  test('[WP-29] a GET never reaches hook models; a write runs its hook steps in order [WP-31] [WP-32]', () => {
    const h = new Harness()
    const eth = h.register('ethernet', { resources: ['/network/ethernet/+'] })
    const route = h.register('route', { resources: ['/network/route'], hook: ['ethernet'] })
    const ipt = h.register('iptable', { resources: ['/network/iptable'], hook: 'route' })

    h.send({ id: 100, method: 'get', resource: '/network/ethernet/1', tunnel: 'r' })
    h.answer(h.one(eth), 200, { id: 1 }, 'ethernet')
    assert.equal(h.one('r').code, 200)
    assert.equal(h.take(route).length, 0)

    // The 3-step PUT of §5.4.
    h.send({ id: 101, method: 'put', resource: '/network/ethernet/1', tunnel: 'r', data: { ip: '2.2.2.2' } })
    h.answer(h.one(eth), 200, { id: 1, ip: '1.1.1.1', who: 'ethernet' }, 'ethernet')
    const hook1 = h.one(route)
    assert.deepEqual(hook1, {
      id: 101,
      method: 'put',
      resource: '/network/ethernet/1',
      sign: ['ethernet'],
      data: { id: 1, ip: '1.1.1.1', who: 'ethernet' },
    })
    h.answer(hook1, 200, { gw: '1.1.1.254', who: 'route' }, 'route')
    const hook2 = h.one(ipt)
    assert.deepEqual(hook2, {
      id: 101,
      method: 'put',
      resource: '/network/ethernet/1',
      sign: ['ethernet', 'route'],
      data: { gw: '1.1.1.254', id: 1, ip: '1.1.1.1', who: 'ethernet' },
    })
    h.answer(hook2, 200, { rules: [], who: 'iptable' }, 'iptable')
    const final = h.one('r')
    assert.equal(final.code, 200)
    assert.deepEqual(final.data, { gw: '1.1.1.254', id: 1, ip: '1.1.1.1', rules: [], who: 'iptable' })
    assert.deepEqual(final.sign, ['ethernet', 'route', 'iptable'])
  })

  test('[WP-30] a non-200 response ends the session at once and is delivered unchanged', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/a'] })
    const b = h.register('b', { resources: ['/b'], hook: 'a' })
    h.send({ id: 9, method: 'put', resource: '/a', tunnel: 'r' })
    const req = h.one(a)
    const resp = { ...req, code: 201, data: 'created', sign: ['a'], extra: 1 }
    delete resp.tunnel
    h.send(resp)
    assert.deepEqual(h.one('r'), resp)
    assert.equal(h.take(b).length, 0)
    h.answer(req, 200, {}, 'a') // a second answer finds no session [WP-35]
    assert.equal(h.out.length, 0)
  })

  test('[WP-32] parallel models merge, later responders win; non-object data disables the merge', () => {
    const h = new Harness({ mode: 'sanji-compat' })
    h.register('A', { resources: ['/p'] })
    h.register('B', { resources: ['/p'] })
    h.send({ id: 1, method: 'get', resource: '/p', tunnel: 'r' })
    const [ra] = h.take(h.tunnel('A'))
    const [rb] = h.take(h.tunnel('B'))
    h.answer(rb as Envelope, 200, [1, 2], 'B')
    h.answer(ra as Envelope, 200, { k: 'A', a: 1 }, 'A')
    assert.deepEqual(h.one('r').data, { k: 'A', a: 1 })
    h.send({ id: 2, method: 'get', resource: '/p', tunnel: 'r' })
    h.answer(h.one(h.tunnel('A')), 200, { k: 'A' }, 'A')
    h.answer(h.one(h.tunnel('B')), 200, 'text', 'B')
    assert.equal(h.one('r').data, 'text')
  })

  test('[WP-33] a direct answer goes only to its tunnel; a plain answer to every view in the view list', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/a'] })
    const v1 = h.register('v1', { role: 'view', resources: ['/a'] })
    const v2 = h.register('v2', { role: 'view', resources: ['/#'], hook: 'a' })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'r' })
    h.answer(h.one(a), 200, {}, 'a')
    assert.equal(h.take('r').length, 1)
    assert.equal(h.take(v1).length + h.take(v2).length, 0)
    h.send({ id: 2, method: 'put', resource: '/a' })
    h.answer(h.one(a), 200, {}, 'a')
    assert.equal(h.take(v1).length, 1)
    assert.equal(h.take(v2).length, 1, 'a hooking view joins the view list once')
  })

  test('[WP-34] a step not complete when its smallest ttl has elapsed ends in 408', () => {
    const h = new Harness({ mode: 'sanji-compat' })
    h.register('slow', { resources: ['/s'], ttl: 5 })
    h.register('fast', { resources: ['/s'], ttl: 2 })
    h.send({ id: 1, method: 'get', resource: '/s', tunnel: 'r' })
    h.answer(h.one(h.tunnel('fast')), 200, {}, 'fast')
    h.clock.advance(1999)
    assert.equal(h.take('r').length, 0)
    h.clock.advance(1)
    assert.deepEqual(h.one('r'), {
      id: 1,
      code: 408,
      method: 'GET',
      resource: '/s',
      sign: ['controller'],
      data: { message: 'session failed due to ttl expired .' },
    })
  })

  test('[WP-34] the in-process outcome names the model that did not answer and the step ttl', async () => {
    const h = new Harness()
    h.register('slow', { resources: ['/s'], ttl: 3 })
    const p = h.core.request({ method: 'get', resource: '/s' })
    h.clock.advance(3000)
    const o = await p
    assert.equal(o.kind, 'timeout')
    assert.equal(o.bundle, 'slow')
    assert.equal(o.ttlMs, 3000)
    assert.equal(o.message.code, 408)
  })

  test('[WP-56] a chain may take up to the sum of its step ttls, and no longer', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/a'], ttl: 2 })
    const b = h.register('b', { resources: ['/b'], hook: 'a', ttl: 3 })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'r' })
    h.clock.advance(1500)
    h.answer(h.one(a), 200, {}, 'a')
    h.one(b)
    h.clock.advance(2999)
    assert.equal(h.take('r').length, 0)
    h.clock.advance(1)
    assert.equal(h.one('r').code, 408)
    assert.equal(h.clock.pending, 0)
  })

  test('[WP-56] a view with hook never creates a step', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/a'] })
    const v = h.register('v', { role: 'view', resources: ['/v'], hook: 'a' })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'r' })
    h.answer(h.one(a), 200, { x: 1 }, 'a')
    assert.equal(h.one('r').code, 200)
    assert.equal(h.take(v).length, 0)
  })

  test('[WP-57] a component matched through several patterns receives one message per step and is awaited once', () => {
    const h = new Harness()
    const a = h.register('a', { resources: ['/a/+', '/a/#', '/a/1'] })
    h.send({ id: 1, method: 'get', resource: '/a/1', tunnel: 'r' })
    const got = h.take(a)
    assert.equal(got.length, 1)
    h.answer(got[0] as Envelope, 200, { one: 1 }, 'a')
    assert.equal(h.one('r').code, 200)
  })

  test('[WP-35] responses that arrive after their session ended are dropped', () => {
    const h = new Harness()
    const a = h.register('a', { ttl: 1 })
    const v = h.register('v', { role: 'view', resources: ['/a'] })
    h.send({ id: 1, method: 'get', resource: '/a' })
    const req = h.one(a)
    h.clock.advance(1000)
    assert.equal(h.one(v).code, 408)
    h.answer(req, 200, {}, 'a')
    assert.equal(h.out.length, 0)
    assert.equal(h.core.stats().lateResponses, 1)
  })

  test('a ttl of 0 expires at once', () => {
    const h = new Harness()
    h.register('z', { resources: ['/z'], ttl: 0 })
    h.send({ id: 1, method: 'get', resource: '/z', tunnel: 'r' })
    h.clock.advance(0)
    assert.equal(h.take('r')[0]?.code, 408)
  })
})

describe('dependency built-in (§5.10)', () => {
  function setup() {
    const h = new Harness()
    h.register('ethernet', { resources: ['/network/ethernet', '/network/ethernet/+'] })
    h.register('route', { resources: ['/network/route', '/network/route/+'], hook: ['ethernet'] })
    h.register('ui', { role: 'view', resources: ['/ui'], hook: ['ethernet'] })
    return h
  }
  const dep = (h: Harness, method: string, resource: string) => {
    h.send({ id: h.id(), method, resource, tunnel: 'r' })
    return h.one('r')
  }

  test('[WP-37] answers the transitive pattern list', () => {
    const h = setup()
    const r = dep(h, 'get', '/controller/resource/dependency?resource=/network/ethernet')
    assert.equal(r.code, 200)
    assert.deepEqual(r.sign, ['controller'])
    assert.deepEqual(r.data, {
      resources: ['/network/ethernet', '/network/ethernet/+', '/network/route', '/network/route/+'],
    })
  })

  test('[WP-37] the error table', () => {
    const h = setup()
    assert.deepEqual(dep(h, 'get', '/controller/resource/dependency').data, {
      message: 'method not allowed',
      log: 'not support read capability',
    })
    assert.equal(h.out.length, 0, 'one reply, not two')
    assert.deepEqual(dep(h, 'get', '/controller/resource/dependency?res=/x').data, {
      message: 'query forbidden',
      log: "only allow with query string '?resource=[identifier]'",
    })
    const nf = dep(h, 'get', '/controller/resource/dependency?resource=/nothing')
    assert.equal(nf.code, 404)
    assert.deepEqual(nf.data, { message: 'resource had not been registered' })
    for (const m of ['post', 'put', 'delete']) {
      const r = dep(h, m, '/controller/resource/dependency?resource=/network/ethernet')
      assert.equal(r.code, 405)
      assert.deepEqual(r.data, { message: 'method not allowed' })
    }
  })
})

describe('events (§5.11)', () => {
  test('[WP-38] events reach every matching view unchanged, never a model, and are never answered', () => {
    const h = new Harness()
    const m = h.register('m', { resources: ['/network/interfaces/+'] })
    const v1 = h.register('v1', { role: 'view', resources: ['/network/interfaces/+', '/network/#'] })
    const v2 = h.register('v2', { role: 'view', resources: ['/other'] })
    const ev = {
      method: 'put',
      resource: '/network/interfaces/wwan0',
      code: 200,
      data: { ip: '10.0.0.2' },
      x: [1],
    }
    h.send(ev)
    assert.deepEqual(h.take(v1), [ev])
    assert.equal(h.take(v2).length + h.take(m).length, 0)
    assert.equal(h.out.length, 0)
  })

  test('[WP-38] events without a string method or a resource are dropped; code is optional', () => {
    const h = new Harness()
    const v = h.register('v', { role: 'view', resources: ['/#'] })
    h.send({ method: 1, resource: '/x' } as Envelope)
    h.send({ method: 'put', resource: '' })
    h.send({ method: 'put', resource: '/x' })
    assert.equal(h.take(v).length, 1)
  })

  test('in-process events are routed the same way', () => {
    const h = new Harness()
    const v = h.register('v', { role: 'view', resources: ['/x'] })
    h.core.event({ method: 'put', resource: '/x', code: 200, data: 1 })
    assert.equal(h.one(v).data, 1)
  })
})

describe('delivery to a component that has not subscribed yet (embedded broker)', () => {
  test('messages wait for the subscription the broker reports, then go out in order', () => {
    const h = new Harness({ tracksSubscriptions: true })
    const t = h.register('a')
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' })
    h.send({ id: 2, method: 'get', resource: '/a', tunnel: 'r' })
    assert.equal(h.take(t).length, 0, 'held: nobody listens on the tunnel yet')
    h.core.tunnelSubscribed(t)
    assert.deepEqual(
      h.take(t).map((m) => m.id),
      [1, 2],
    )
    h.send({ id: 3, method: 'get', resource: '/a', tunnel: 'r' })
    assert.equal(h.take(t).length, 1, 'published at once from then on')
  })

  test('a subscription that is never reported releases the messages after subscribeWaitMs', () => {
    const h = new Harness({ tracksSubscriptions: true, subscribeWaitMs: 500 })
    const t = h.register('a')
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' })
    h.clock.advance(499)
    assert.equal(h.take(t).length, 0)
    h.clock.advance(1)
    assert.equal(h.take(t).length, 1)
  })
})
