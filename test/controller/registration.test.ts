import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'

const REG = '/controller/registration'

function postRaw(h: Harness, data: unknown, resource = REG, clientId = 'c'): Envelope {
  h.send({ id: h.id(), method: 'post', resource, tunnel: 'r', data } as Envelope, clientId)
  return h.one('r')
}

const full = {
  name: 'thermo',
  description: 'temperature sensor',
  role: 'model',
  ttl: 3,
  resources: ['/thermo/+'],
}

describe('registration', () => {
  test('[WP-11] a valid POST answers 200 with a decimal-string tunnel and the instance [WP-45]', () => {
    const h = new Harness({ tunnelSource: undefined as unknown as () => string })
    const reply = postRaw(h, full)
    assert.equal(reply.code, 200)
    assert.equal(reply.method, 'POST')
    assert.equal(reply.resource, REG)
    assert.deepEqual(reply.sign, ['controller'])
    assert.ok(!('tunnel' in reply))
    const data = reply.data as { tunnel: string; instance: string }
    assert.match(data.tunnel, /^\d+$/)
    assert.ok(Number(data.tunnel) >= 0 && Number(data.tunnel) < 2 ** 31)
    assert.equal(data.instance, '0123456789abcdef')
  })

  test('[WP-11] tunnels are unique among current components even when the source repeats', () => {
    const seq = ['7', '7', '7', '8']
    const h = new Harness({ tunnelSource: () => seq.shift() ?? '9' })
    const a = h.register('a')
    const b = h.register('b')
    assert.equal(a, '7')
    assert.equal(b, '8')
  })

  test('[WP-15] the 400 checks run in order data, name, description, role, hook, ttl, resources', () => {
    const cases: Array<[unknown, string]> = [
      [undefined, "Need 'data'"],
      ['x', "Need 'data'"],
      [{}, "no 'name'"],
      [{ name: '' }, "no 'name'"],
      [{ name: 'a' }, "need 'description'"],
      [{ name: 'a', description: '' }, "need 'description'"],
      [{ name: 'a', description: 'd' }, "need 'role'"],
      [{ name: 'a', description: 'd', role: 'model', hook: '' }, "empty 'hook'"],
      [{ name: 'a', description: 'd', role: 'model', hook: ['x', ''] }, "empty 'hook'"],
      [{ name: 'a', description: 'd', role: 'model', hook: [1] }, "empty 'hook'"],
      [{ name: 'a', description: 'd', role: 'model' }, "need 'ttl'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: '10' }, "need 'ttl'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10 }, "Need 'resources'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10, resources: [] }, "empty 'resources'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10, resources: ['/a', ''] }, "empty 'resources'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10, resources: [3] }, "empty 'resources'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10, resources: '' }, "empty 'resources'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10, resources: { a: 1 } }, "Need 'resources'"],
      [{ name: 'a', description: 'd', role: 'model', ttl: 10, resources: 5 }, "Need 'resources'"],
      [{ name: 'a b', description: 'd', role: 'model', ttl: 10, resources: ['/a'] }, "invalid 'name'"],
      [
        { name: 'x'.repeat(65), description: 'd', role: 'model', ttl: 10, resources: ['/a'] },
        "invalid 'name'",
      ],
      [
        { name: 'a', description: 'd', role: 'model', ttl: 10, resources: ['/'.repeat(1024)] },
        "'resources' entry exceeds 1023 characters",
      ],
    ]
    for (const [data, log] of cases) {
      const h = new Harness()
      const reply = postRaw(h, data)
      assert.equal(reply.code, 400, JSON.stringify(data))
      assert.deepEqual(reply.data, { message: 'wrong register context', log }, JSON.stringify(data))
    }
  })

  test('[WP-23] names of [A-Za-z0-9-] up to 64 characters are accepted', () => {
    const h = new Harness()
    assert.equal(postRaw(h, { ...full, name: `Ab-9${'x'.repeat(60)}` }).code, 200)
  })

  test('[WP-15] other JSON types of hook are ignored', () => {
    const h = new Harness()
    assert.equal(postRaw(h, { ...full, hook: { a: 1 } }).code, 200)
    assert.deepEqual(h.core.components().find((c) => c.name === 'thermo')?.hooks, [])
  })

  test('[WP-14] a name in the path wins over data.name', () => {
    const h = new Harness()
    const reply = postRaw(h, full, `${REG}/other`)
    assert.equal(reply.code, 200)
    assert.ok(h.core.components().some((c) => c.name === 'other'))
    assert.ok(!h.core.components().some((c) => c.name === 'thermo'))
  })

  test('[WP-16] a numeric ttl is truncated to whole seconds', () => {
    const h = new Harness()
    postRaw(h, { ...full, ttl: 2.9 })
    assert.equal(h.core.components().find((c) => c.name === 'thermo')?.ttlSec, 2)
  })

  test('[WP-17] one string registers one pattern; one string hook is one hook', () => {
    const h = new Harness()
    postRaw(h, { ...full, resources: '/single', hook: 'ethernet' })
    const c = h.core.components().find((x) => x.name === 'thermo')
    assert.deepEqual(c?.patterns, ['/single'])
    assert.deepEqual(c?.hooks, ['ethernet'])
  })

  test('[WP-18] a POST for an existing name answers 403 with the original wire text', () => {
    const h = new Harness()
    assert.equal(postRaw(h, full).code, 200)
    const reply = postRaw(h, { ...full, resources: ['/other'] })
    assert.equal(reply.code, 403)
    assert.deepEqual(reply.data, { message: 'component had beed already registered' })
  })

  test('[WP-22] the names registration and dependency are taken from start-up', () => {
    const h = new Harness()
    const names = h.core.components().map((c) => c.name)
    assert.deepEqual(names, ['registration', 'dependency'])
    assert.equal(postRaw(h, { ...full, name: 'registration', resources: ['/x'] }).code, 403)
    h.clock.advance(1000)
    assert.equal(postRaw(h, { ...full, name: 'dependency', resources: ['/y'] }).code, 403)
  })

  test('[WP-19] GET, PUT and unknown verbs on the registration resources answer 405', () => {
    const h = new Harness()
    for (const method of ['get', 'put', 'patch', 'GET']) {
      for (const resource of [REG, `${REG}/thermo`]) {
        h.send({ id: h.id(), method, resource, tunnel: 'r' })
        const reply = h.one('r')
        assert.equal(reply.code, 405)
        assert.equal(reply.method, method.toUpperCase())
        assert.deepEqual(reply.data, { message: 'method not allowed' })
      }
    }
  })

  test('[WP-12] a DELETE of an unknown name answers 200 without data', () => {
    const h = new Harness()
    h.send({ id: h.id(), method: 'delete', resource: `${REG}/nobody`, tunnel: 'r' })
    const reply = h.one('r')
    assert.equal(reply.code, 200)
    assert.ok(!('data' in reply))
  })

  test('[WP-13] a DELETE without any name answers 400 no name', () => {
    const h = new Harness()
    h.send({ id: h.id(), method: 'delete', resource: REG, tunnel: 'r' })
    assert.deepEqual(h.one('r').data, { message: 'wrong register context', log: "no 'name'" })
    h.send({ id: h.id(), method: 'delete', resource: REG, tunnel: 'r', data: { name: 3 } })
    assert.equal(h.one('r').code, 400)
  })

  test('[WP-20] a successful DELETE answers 200 without data and removes patterns left without subscribers', () => {
    const h = new Harness()
    h.register('a', { resources: ['/shared', '/only-a'], role: 'view' })
    h.register('b', { resources: ['/shared'], role: 'view' })
    h.send({
      id: h.id(),
      method: 'delete',
      resource: REG,
      tunnel: 'r',
      data: { name: 'a', description: 'x' },
    })
    const reply = h.one('r')
    assert.deepEqual(reply, {
      id: reply.id,
      code: 200,
      method: 'DELETE',
      resource: REG,
      sign: ['controller'],
    })
    // /only-a has no subscriber any more: a direct request to it is a 404; /shared still has b.
    h.send({ id: h.id(), method: 'get', resource: '/only-a', tunnel: 'r' })
    assert.equal(h.one('r').code, 404)
    h.send({ id: h.id(), method: 'get', resource: '/shared', tunnel: 'r' })
    assert.equal(h.one('r').code, 403)
  })

  test('[WP-21] re-registration after DELETE yields a new tunnel', () => {
    const h = new Harness()
    const first = h.register('a')
    h.send({ id: h.id(), method: 'delete', resource: `${REG}/a`, tunnel: 'r' })
    assert.equal(h.one('r').code, 200)
    const second = h.register('a')
    assert.notEqual(first, second)
  })

  test('built-in components cannot be deleted', () => {
    const h = new Harness()
    h.send({ id: h.id(), method: 'delete', resource: `${REG}/registration`, tunnel: 'r' })
    assert.equal(h.one('r').code, 403)
    assert.equal(h.core.components().length, 2)
  })

  test('a plain registration answers to the views of the registration patterns (normally none)', () => {
    const h = new Harness()
    h.register('watcher', { role: 'view', resources: ['/#'] }) // a view may not name /controller/… (§8.2a)
    h.send({ id: h.id(), method: 'post', resource: REG, data: { ...full, name: 'plain' } })
    const seen = h.take(h.tunnel('watcher'))
    assert.equal(seen.length, 1)
    assert.equal(seen[0]?.code, 200)
    assert.ok(h.core.components().some((c) => c.name === 'plain'))
  })
})

describe('resource ownership (§8.2)', () => {
  test("[WP-39] a model POST listing another model's pattern answers 409 naming the owner and registers nothing", () => {
    const h = new Harness()
    h.register('ethernet', { resources: ['/network/ethernet', '/network/ethernet/+'] })
    const reply = h.post('imposter', { resources: ['/mine', '/network/ethernet/+', '/network/ethernet'] })
    assert.equal(reply.code, 409)
    assert.deepEqual(reply.data, {
      message: "resource '/network/ethernet/+' is already provided by 'ethernet'",
    })
    assert.ok(!h.core.components().some((c) => c.name === 'imposter'))
    h.send({ id: h.id(), method: 'get', resource: '/mine', tunnel: 'r' })
    assert.equal(h.one('r').code, 404)
  })

  test('[WP-39][WP-62] built-in patterns belong to registration and dependency: /controller… is refused with 400', () => {
    const h = new Harness()
    const reply = h.post('sneaky', { resources: ['/controller/registration'] })
    assert.equal(reply.code, 400)
    assert.deepEqual(reply.data, {
      message: 'wrong register context',
      log: `'resources' entry "/controller/registration" is under '/controller', which belongs to the gateway`,
    })
  })

  test('[WP-39] an offline owner keeps its patterns', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'], clientId: 'ca' })
    h.core.clientGone('ca')
    assert.equal(h.post('b', { resources: ['/a'] }).code, 409)
  })

  test('[WP-40] views may register wide patterns (/#); overlapping model patterns are allowed', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a/+'] })
    assert.equal(h.post('v', { role: 'view', resources: ['/a/+'] }).code, 200)
    assert.equal(h.post('w', { role: 'view', resources: ['/#'] }).code, 200)
    assert.equal(h.post('b', { resources: ['/a/1', '/a/#'] }).code, 200)
  })

  test('[WP-40] sanji-compat mode accepts shared model patterns and fans out', () => {
    const h = new Harness({ mode: 'sanji-compat' })
    h.register('a', { resources: ['/x'] })
    h.register('b', { resources: ['/x'] })
    h.send({ id: 77, method: 'get', resource: '/x', tunnel: 'r' })
    h.answer(h.one(h.tunnel('a')), 200, { k: 'A', a: 1 }, 'a')
    assert.equal(h.take('r').length, 0)
    h.answer(h.one(h.tunnel('b')), 200, { k: 'B', b: 2 }, 'b')
    const final = h.one('r')
    assert.deepEqual(final.data, { a: 1, b: 2, k: 'B' })
    assert.deepEqual(final.sign, ['b'])
  })

  test('gateway-reserved patterns are refused with 409 for any role, including anything below them', () => {
    const h = new Harness({ reserved: [{ prefix: '/tokens', owner: 'gateway' }] })
    assert.deepEqual(h.post('t', { resources: ['/tokens/+'] }).data, {
      message: "resource '/tokens/+' is already provided by 'gateway'",
    })
    h.clock.advance(1000)
    assert.equal(h.post('v', { role: 'view', resources: ['/tokens'] }).code, 409)
    assert.equal(h.post('w', { resources: ['/tokensmith'] }).code, 200)
  })
})

describe('rejection damping (§8.2)', () => {
  test('[WP-41] rejected POSTs for one name are answered no more than once per second', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'] })
    const send = () =>
      h.send({
        id: h.id(),
        method: 'post',
        resource: REG,
        tunnel: 'r',
        data: { ...full, name: 'b', resources: ['/a'] },
      })
    send()
    assert.equal(h.take('r').length, 1, 'the first rejection goes out at once')
    send()
    assert.equal(h.take('r').length, 0, 'the second waits')
    h.clock.advance(999)
    assert.equal(h.take('r').length, 0)
    h.clock.advance(1)
    const late = h.take('r')
    assert.equal(late.length, 1)
    assert.equal(late[0]?.code, 409)
    send()
    send()
    h.clock.advance(1000)
    assert.equal(h.take('r').length, 1, 'one per second')
    h.clock.advance(1000)
    assert.equal(h.take('r').length, 1)
  })

  test('[WP-41] a flood of rejected POSTs stacks no timers past the built-in ttl: the backlog ends with 408', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'] })
    for (let i = 0; i < 15; i++)
      h.send({
        id: h.id(),
        method: 'post',
        resource: REG,
        tunnel: 'r',
        data: { ...full, name: 'b', resources: ['/a'] },
      })
    const codes: number[] = []
    for (let s = 0; s < 11; s++) {
      codes.push(...h.take('r').map((m) => m.code as number))
      h.clock.advance(1000)
    }
    codes.push(...h.take('r').map((m) => m.code as number))
    assert.equal(h.clock.pending, 0, 'once every session has ended, no damping timer is left')
    assert.deepEqual(
      codes.filter((c) => c === 409).length,
      10,
      'one reply per second while the built-in ttl (10 s) lasts',
    )
    assert.deepEqual(codes.filter((c) => c === 408).length, 5, 'the rest end with the ttl')
    h.clock.advance(60_000)
    assert.equal(h.take('r').length, 0, 'nothing is left to fire later')
  })

  test('[WP-41] damping is per name, and successful POSTs are never delayed', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'] })
    assert.equal(h.post('a', { resources: ['/z'] }).code, 403)
    assert.equal(h.post('c', { resources: ['/c'] }).code, 200)
    h.post('d', { resources: ['/a'] }) // first rejection of d: at once
  })
})

describe('hook cycles (§8.7)', () => {
  test('[WP-55] a POST that would close a hook cycle answers 400 naming the cycle in execution order', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'], hook: ['c'] })
    h.register('b', { resources: ['/b'], hook: ['a'] })
    const reply = h.post('c', { resources: ['/c'], hook: ['b'] })
    assert.equal(reply.code, 400)
    assert.deepEqual(reply.data, { message: 'wrong register context', log: 'hook cycle: c -> a -> b -> c' })
  })

  test('[WP-55] a self-hook is a cycle; hooks naming absent components are allowed; views never cycle', () => {
    const h = new Harness()
    assert.deepEqual(h.post('s', { hook: ['s'] }).data, {
      message: 'wrong register context',
      log: 'hook cycle: s -> s',
    })
    assert.equal(h.post('t', { hook: ['nobody'] }).code, 200)
    h.register('m', { resources: ['/m'], hook: ['v'] })
    assert.equal(h.post('v', { role: 'view', resources: ['/v'], hook: ['m'] }).code, 200)
  })
})

describe('sanji-compat locks on registration', () => {
  test('registering a locked pattern answers 423 "the resource is locked"; deleting a locked component 423 "resoures is locked"', () => {
    const h = new Harness({ mode: 'sanji-compat' })
    h.register('a', { resources: ['/a'] })
    h.send({ id: 500, method: 'put', resource: '/a', tunnel: 'r' })
    assert.equal(h.take(h.tunnel('a')).length, 1)
    const reply = h.post('b', { role: 'view', resources: ['/a'] })
    assert.equal(reply.code, 423)
    assert.deepEqual(reply.data, { message: 'the resource is locked' })
    h.send({ id: h.id(), method: 'delete', resource: `${REG}/a`, tunnel: 'r2' })
    assert.deepEqual(h.one('r2').data, { message: 'resoures is locked' })
  })

  test('[WP-54] default mode: registration and deregistration apply at once while writes hold locks', () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'] })
    h.send({ id: 500, method: 'put', resource: '/a', tunnel: 'r' })
    assert.equal(h.post('b', { role: 'view', resources: ['/a'] }).code, 200)
    h.send({ id: h.id(), method: 'delete', resource: `${REG}/a`, tunnel: 'r2' })
    assert.equal(h.one('r2').code, 200)
  })
})
