import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Harness } from '../helpers/controller-harness.ts'

describe('liveness (§8.3)', () => {
  test("[WP-42] once a component's bound client disconnects, requests for it answer 503 at once", async () => {
    const h = new Harness()
    const t = h.register('a', { clientId: 'ca' })
    h.core.clientGone('ca')
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' })
    assert.deepEqual(h.one('r'), {
      id: 1,
      code: 503,
      method: 'GET',
      resource: '/a',
      sign: ['controller'],
      data: { message: "bundle 'a' is offline" },
    })
    assert.equal(h.take(t).length, 0)
    const o = await h.core.request({ method: 'get', resource: '/a' })
    assert.equal(o.kind, 'offline')
    assert.equal(o.bundle, 'a')
    assert.equal(h.core.components().find((c) => c.name === 'a')?.online, false)
  })

  test('[WP-42] the binding comes from the publisher, else from data.clientId (external broker)', () => {
    const h = new Harness()
    h.send(
      {
        id: 1,
        method: 'post',
        resource: '/controller/registration',
        tunnel: 'r',
        data: { name: 'ext', description: 'd', role: 'model', ttl: 5, resources: ['/ext'], clientId: 'bg-1' },
      },
      null,
    )
    assert.equal(h.one('r').code, 200)
    assert.equal(h.core.components().find((c) => c.name === 'ext')?.clientId, 'bg-1')
    // its will arrives on /controller/presence/bg-1
    h.core.handleMessage('/controller/presence/bg-1', JSON.stringify({ clientId: 'bg-1', state: 'offline' }))
    assert.equal(h.core.components().find((c) => c.name === 'ext')?.online, false)
  })

  test('[WP-42] a component with no known client counts as always online', () => {
    const h = new Harness()
    h.send(
      {
        id: 1,
        method: 'post',
        resource: '/controller/registration',
        tunnel: 'r',
        data: { name: 'py', description: 'd', role: 'model', ttl: 5, resources: ['/py'] },
      },
      null,
    )
    h.one('r')
    h.core.clientGone('anyone')
    assert.equal(h.core.components().find((c) => c.name === 'py')?.online, true)
  })

  test('[WP-43] a session waiting on a model that goes offline ends at once with 503', () => {
    const h = new Harness()
    const a = h.register('a', { clientId: 'ca' })
    const b = h.register('b', { resources: ['/b'], hook: 'a', clientId: 'cb' })
    h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'r' })
    h.take(a)
    h.core.clientGone('ca')
    assert.equal(h.one('r').code, 503)
    assert.equal(h.clock.pending, 0, 'no ttl timer left behind')
    // a later hook step that starts with an offline model ends with 503 too
    h.send({ id: h.id(), method: 'delete', resource: '/controller/registration/a', tunnel: 'd' })
    h.one('d')
    h.register('a', { clientId: 'ca2' })
    h.core.clientGone('cb')
    h.send({ id: 2, method: 'put', resource: '/a', tunnel: 'r' })
    h.answer(h.one(h.tunnel('a')), 200, {}, 'a')
    const r = h.one('r')
    assert.equal(r.code, 503)
    assert.deepEqual(r.data, { message: "bundle 'b' is offline" })
    assert.equal(h.take(b).length, 0)
  })

  test('[WP-43] a model that already answered may go away without failing the session', () => {
    const h = new Harness({ mode: 'sanji-compat' })
    h.register('a', { resources: ['/p'], clientId: 'ca' })
    h.register('b', { resources: ['/p'], clientId: 'cb' })
    h.send({ id: 1, method: 'get', resource: '/p', tunnel: 'r' })
    h.answer(h.one(h.tunnel('a')), 200, { a: 1 }, 'a')
    h.core.clientGone('ca')
    assert.equal(h.take('r').length, 0)
    h.answer(h.one(h.tunnel('b')), 200, { b: 1 }, 'b')
    assert.deepEqual(h.one('r').data, { a: 1, b: 1 })
  })

  test('[WP-44] a new successful POST (after DELETE) makes the component online again, bound to the new client', () => {
    const h = new Harness()
    h.register('a', { clientId: 'old' })
    h.core.clientGone('old')
    assert.equal(h.post('a', { clientId: 'new' }).code, 403, 'the name stays taken while offline')
    h.send({ id: h.id(), method: 'delete', resource: '/controller/registration/a', tunnel: 'd' })
    h.one('d')
    h.clock.advance(1000)
    const t = h.register('a', { clientId: 'new' })
    h.send({ id: 9, method: 'get', resource: '/a', tunnel: 'r' })
    assert.equal(h.one(t).id, 9)
    h.core.clientGone('old')
    assert.equal(h.core.components().find((c) => c.name === 'a')?.online, true)
  })

  test('offline views are skipped during delivery', () => {
    const h = new Harness()
    const a = h.register('a')
    const v = h.register('v', { role: 'view', resources: ['/a'], clientId: 'cv' })
    h.core.clientGone('cv')
    h.send({ id: 1, method: 'get', resource: '/a' })
    h.answer(h.one(a), 200, {}, 'a')
    h.send({ method: 'put', resource: '/a', code: 200 })
    assert.equal(h.take(v).length, 0)
  })

  test('liveness can be switched off', () => {
    const h = new Harness({ liveness: false })
    const t = h.register('a', { clientId: 'ca' })
    h.core.clientGone('ca')
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' })
    assert.equal(h.one(t).id, 1)
  })

  test('[WP-45] the controller announces online with its instance on /controller/presence', () => {
    const h = new Harness()
    h.core.announce()
    assert.deepEqual(h.one('/controller/presence'), { state: 'online', instance: '0123456789abcdef' })
    assert.match(new Harness({ instance: undefined as unknown as string }).core.instance, /^[0-9a-f]{16}$/)
  })

  test('onChange reports registrations, deregistrations and offline transitions', () => {
    const h = new Harness()
    const seen: string[] = []
    h.core.onChange((e, c) => seen.push(`${e}:${c.name}`))
    h.register('a', { clientId: 'ca' })
    h.core.clientGone('ca')
    h.send({ id: h.id(), method: 'delete', resource: '/controller/registration/a', tunnel: 'd' })
    assert.deepEqual(seen, ['registered:a', 'offline:a', 'deregistered:a'])
  })

  test('a dead model on /new/# does not block registrations: the built-in answers without it', () => {
    // A dead model on `/#` can no longer exist (§8.2a [WP-62]); a wide pattern within one first level still can.
    const h = new Harness()
    h.register('catchall', { resources: ['/new/#'], clientId: 'cc' })
    h.core.clientGone('cc')
    assert.equal(h.post('newcomer', { resources: ['/new/x'] }).code, 200)
    h.send({ id: h.id(), method: 'get', resource: '/new/x', tunnel: 'r' })
    assert.equal(h.one('r').code, 503, 'its own resources still answer 503 (it matches /new/x too)')
  })
})
