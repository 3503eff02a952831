import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'

function network(mode: 'default' | 'sanji-compat') {
  const h = new Harness({ mode })
  h.register('ethernet', { resources: ['/network/ethernet', '/network/ethernet/+'], ttl: 5 })
  h.register('route', { resources: ['/network/route'], hook: 'ethernet', ttl: 5 })
  h.register('other', { resources: ['/other'], ttl: 5 })
  return h
}

describe('locks in sanji-compat mode', () => {
  test('[WP-36] [WP-53] a write locks the patterns and models of its whole chain; a request meeting it gets 423 at once', () => {
    const h = network('sanji-compat')
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    assert.equal(h.take(h.tunnel('ethernet')).length, 1)
    for (const resource of ['/network/ethernet/2', '/network/route', '/network/ethernet']) {
      h.send({ id: h.id() + 100, method: 'get', resource, tunnel: 'r' })
      const r = h.one('r')
      assert.equal(r.code, 423, resource)
      assert.deepEqual(r.data, { message: 'resource is locked' })
    }
    h.send({ id: 300, method: 'get', resource: '/other', tunnel: 'r' })
    assert.equal(h.take(h.tunnel('other')).length, 1, 'unrelated resources are not locked')
  })

  test('[WP-36] a GET takes no lock; writes may start while GETs are in flight; locks go on success, failure and ttl', () => {
    const h = network('sanji-compat')
    const eth = h.tunnel('ethernet')
    h.send({ id: 1, method: 'get', resource: '/network/ethernet/1', tunnel: 'r1' })
    h.send({ id: 2, method: 'get', resource: '/network/ethernet/1', tunnel: 'r2' })
    h.send({ id: 3, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    const reqs = h.take(eth)
    assert.equal(reqs.length, 3)
    h.answer(reqs[2] as Envelope, 500, { message: 'boom' }, 'ethernet') // failure releases
    assert.equal(h.one('w').code, 500)
    h.send({ id: 4, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    h.clock.advance(5000) // ttl releases
    assert.equal(h.one('w').code, 408)
    h.send({ id: 5, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    assert.equal(h.take(eth).length, 2, 'requests 4 and 5 both started, so the locks were free')
  })
})

describe('locks in default mode: the FIFO queue (§8.6)', () => {
  test('[WP-52] a request meeting a write lock waits, then runs when the lock goes', () => {
    const h = network('default')
    const eth = h.tunnel('ethernet')
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    const put = h.one(eth)
    h.send({ id: 2, method: 'get', resource: '/network/ethernet/2', tunnel: 'r' })
    assert.equal(h.take(eth).length, 0, 'the GET waits')
    assert.equal(h.take('r').length, 0)
    assert.equal(h.core.stats().queued, 1)
    h.answer(put, 200, {}, 'ethernet')
    h.answer(h.one(h.tunnel('route')), 200, {}, 'route')
    assert.equal(h.one('w').code, 200)
    const get = h.one(eth)
    assert.equal(get.id, 2)
    h.answer(get, 200, { two: 2 }, 'ethernet')
    assert.deepEqual(h.one('r').data, { two: 2 })
  })

  test('[WP-52] waiting is bounded by the request ttl from arrival, then 423', () => {
    const h = network('default')
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    h.clock.advance(1000)
    h.send({ id: 2, method: 'get', resource: '/network/ethernet/2', tunnel: 'r' })
    h.clock.advance(4000)
    assert.equal(h.one('w').code, 408, 'the write expired after 5 s')
    // ...and the GET started then; it must not be answered 423
    assert.equal(h.take('r').length, 0)
    assert.equal(h.take(h.tunnel('ethernet')).length, 2)
  })

  test('[WP-52] a queued request past its own ttl answers 423 resource is locked', () => {
    const h = new Harness()
    h.register('slow', { resources: ['/a', '/b'], ttl: 10 })
    h.register('quick', { resources: ['/q'], ttl: 1, hook: 'slow' })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'w' })
    h.send({ id: 2, method: 'get', resource: '/q', tunnel: 'r' })
    h.clock.advance(999)
    assert.equal(h.take('r').length, 0)
    h.clock.advance(1)
    const r = h.one('r')
    assert.equal(r.code, 423)
    assert.deepEqual(r.data, { message: 'resource is locked' })
  })

  test('[WP-52] no overtaking: a request sharing a pattern with an earlier queued write waits behind it', () => {
    const h = network('default')
    const eth = h.tunnel('ethernet')
    const route = h.tunnel('route')
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w1' })
    h.send({ id: 2, method: 'put', resource: '/network/ethernet/1', tunnel: 'w2' })
    h.send({ id: 3, method: 'get', resource: '/network/ethernet/1', tunnel: 'r3' })
    assert.equal(h.take(eth).length, 1)
    assert.equal(h.core.stats().queued, 2)
    // finish write 1: write 2 starts; the GET still meets write 2's lock
    h.answer({ id: 1, method: 'put', resource: '/network/ethernet/1' }, 200, {}, 'ethernet')
    h.answer(h.one(route), 200, {}, 'route')
    assert.equal(h.one('w1').code, 200)
    const second = h.take(eth)
    assert.deepEqual(
      second.map((m) => m.id),
      [2],
    )
    h.answer(second[0] as Envelope, 200, {}, 'ethernet')
    h.answer(h.one(route), 200, {}, 'route')
    assert.equal(h.one('w2').code, 200)
    assert.deepEqual(
      h.take(eth).map((m) => m.id),
      [3],
    )
  })

  test('[WP-52] a new request that shares a model with a queued write queues even when no lock is held on it', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'] })
    h.register('b', { resources: ['/b'] })
    h.register('hooker', { resources: ['/h'], hook: ['a', 'b'] })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'w1' }) // locks a, hooker
    h.send({ id: 2, method: 'put', resource: '/b', tunnel: 'w2' }) // chain b, hooker: queued (hooker locked)
    h.send({ id: 3, method: 'get', resource: '/b', tunnel: 'r3' }) // meets nothing held, but shares b with queued write 2
    assert.equal(h.take(h.tunnel('b')).length, 0)
    assert.equal(h.core.stats().queued, 2)
  })

  test('[WP-52] a queued request that leaves the queue is routed afresh: the registry may have changed', () => {
    const h = network('default')
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    h.send({ id: 2, method: 'get', resource: '/network/ethernet/7', tunnel: 'r' })
    h.send({ id: h.id(), method: 'delete', resource: '/controller/registration/ethernet', tunnel: 'd' })
    assert.equal(h.one('d').code, 200)
    h.clock.advance(5000) // the write expires
    assert.equal(h.one('w').code, 408)
    assert.equal(h.one('r').code, 404, 'ethernet is gone, so the queued GET finds no route')
  })

  test('[WP-27] a queued request keeps its id in flight', () => {
    const h = network('default')
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    h.send({ id: 2, method: 'get', resource: '/network/ethernet/1', tunnel: 'r' })
    h.send({ id: 2, method: 'get', resource: '/other', tunnel: 'r' })
    assert.equal(h.one('r').code, 403)
  })

  test('the queue holds at most queueLimit requests; beyond that 423 at once', () => {
    const h = new Harness({ queueLimit: 2 })
    h.register('a', { resources: ['/a'] })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'w' })
    h.send({ id: 2, method: 'get', resource: '/a', tunnel: 'r' })
    h.send({ id: 3, method: 'get', resource: '/a', tunnel: 'r' })
    h.send({ id: 4, method: 'get', resource: '/a', tunnel: 'r' })
    const r = h.one('r')
    assert.equal(r.id, 4)
    assert.equal(r.code, 423)
  })

  test('events never wait for locks', () => {
    const h = network('default')
    const v = h.register('v', { role: 'view', resources: ['/network/#'] })
    h.send({ id: 1, method: 'put', resource: '/network/ethernet/1', tunnel: 'w' })
    h.send({ method: 'put', resource: '/network/ethernet/1', code: 200, data: 1 })
    assert.equal(h.one(v).data, 1)
  })
})

describe('in-process requests', () => {
  test('[WP-51] web-service requests are plain: their final answers also reach the views [WP-58] [WP-60]', async () => {
    const h = new Harness({ idBase: 0 })
    const a = h.register('a')
    const v = h.register('v', { role: 'view', resources: ['/a'] })
    const p = h.core.request({
      method: 'put',
      resource: '/a',
      data: { k: 1 },
      caller: { token: 'tok1', scope: 'readwrite' },
    })
    const req = h.one(a)
    assert.deepEqual(req, {
      id: 1_048_576,
      method: 'put',
      resource: '/a',
      data: { k: 1 },
      caller: { token: 'tok1', scope: 'readwrite' },
    })
    h.answer(req, 200, { k: 1 }, 'a')
    const o = await p
    assert.equal(o.kind, 'answer')
    assert.deepEqual(o.message.data, { k: 1 })
    assert.equal(h.one(v).id, 1_048_576)
  })

  test('[WP-58] in-process ids skip ids in flight', async () => {
    const h = new Harness({ idBase: 0 })
    const a = h.register('a')
    h.send({ id: 1_048_577, method: 'get', resource: '/a', tunnel: 'x' })
    h.take(a)
    void h.core.request({ method: 'get', resource: '/a' })
    void h.core.request({ method: 'get', resource: '/a' })
    assert.deepEqual(
      h.take(a).map((m) => m.id),
      [1_048_576, 1_048_578],
    )
  })

  test('outcomes name what went wrong: not-found, no-model, bad-request', async () => {
    const h = new Harness()
    h.register('v', { role: 'view', resources: ['/v'] })
    assert.equal((await h.core.request({ method: 'get', resource: '/x' })).kind, 'not-found')
    assert.equal((await h.core.request({ method: 'get', resource: '/v' })).kind, 'no-model')
    const bad = await h.core.request({ method: 'get', resource: `/${'x'.repeat(1100)}` })
    assert.equal(bad.kind, 'bad-request')
    assert.equal(bad.message.code, 400)
  })

  test('close answers waiting in-process callers with 503 and stops every timer', async () => {
    const h = new Harness()
    h.register('a')
    const p = h.core.request({ method: 'put', resource: '/a' })
    const q = h.core.request({ method: 'get', resource: '/a' })
    h.core.close()
    assert.equal((await p).kind, 'unavailable')
    assert.equal((await q).kind, 'unavailable')
    assert.equal(h.clock.pending, 0)
  })
})
