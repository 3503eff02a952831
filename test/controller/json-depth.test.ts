/**
 * The JSON depth budget at the controller's intake (wire-protocol.md §8.9), on a fake clock: a too-deep request is
 * answered 400 from its shallow head like the 413 [WP-59], anything else is dropped, counted and logged at most once
 * per 10 s; merges keep `__proto__` as data; an in-process request that does not serialise ends in 500 and frees its
 * lock.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'
import { logSink } from '../helpers/gateway.ts'

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)

test('[WP-59] §8.9: a request nested 6,000 deep with a tunnel answers 400 payload too deep, nothing is routed', () => {
  const h = new Harness()
  const a = h.register('a', { resources: ['/a'] })
  h.send(`{"id":77,"method":"put","resource":"/a","tunnel":"r","data":${deep(6000)}}`)
  assert.deepEqual(h.one('r'), {
    id: 77,
    code: 400,
    method: 'PUT',
    resource: '/a',
    sign: ['controller'],
    data: { message: 'payload too deep', log: 'payload nests 6000 levels deep, over the limit of 64' },
  })
  assert.equal(h.take(a).length, 0, 'the model never sees it')
  assert.equal(h.core.stats().dropped, 1)
  // the resource is not locked: a normal write goes through at once
  h.send({ id: 78, method: 'put', resource: '/a', tunnel: 'r', data: { k: 1 } })
  h.answer(h.one(a), 200, { k: 1 }, 'a')
  assert.equal(h.one('r').code, 200)
})

test('[WP-59] §8.9: a registration nested too deep answers 400 and registers nothing', () => {
  const h = new Harness()
  const before = h.core.components().length
  h.send(
    `{"id":5,"method":"post","resource":"/controller/registration","tunnel":"r","data":{"name":"x","resources":${deep(6000)}}}`,
  )
  const reply = h.one('r')
  assert.equal(reply.code, 400)
  assert.equal((reply.data as { message: string }).message, 'payload too deep')
  assert.equal(h.core.components().length, before)
})

test('§8.9: too-deep events and requests without a reply path are dropped, a too-deep response ends its request with 502; counted, logged once per 10 s', () => {
  const { logger, lines } = logSink('warn')
  const h = new Harness({ logger })
  const a = h.register('a', { resources: ['/a'], ttl: 2 })
  const v = h.register('v', { role: 'view', resources: ['/a'] })
  h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' })
  const req = h.one(a)
  for (let i = 0; i < 100; i++) h.send(`{"method":"put","resource":"/a","data":${deep(6000)}}`)
  h.send(
    `{"id":${req.id},"code":200,"method":"GET","resource":"/a","sign":["a"],"data":${deep(100)}}`,
    'client-a',
  )
  h.send(`{"id":3,"method":"get","resource":"/zz","data":${deep(65)}}`) // no tunnel, no view: nowhere to answer
  assert.equal(h.take(v).length, 0, 'no event reached the view')
  assert.equal(h.core.stats().events, 0)
  assert.equal(h.core.stats().dropped, 102)
  const deepLines = lines.filter((l) => l.msg === 'message dropped: nested deeper than the JSON depth limit')
  assert.equal(deepLines.length, 1, 'one line for the whole flood')
  assert.equal(deepLines[0]?.dropped, 1)
  // the model's deep answer cannot be taken: the request ends at once with 502, not by its ttl
  const ended = h.one('r')
  assert.equal(ended.code, 502)
  assert.deepEqual(ended.data, {
    message: 'payload too deep',
    log: 'payload nests 100 levels deep, over the limit of 64',
  })
  h.clock.advance(2000)
  assert.equal(h.take('r').length, 0, 'no 408 follows')
  h.clock.advance(8000)
  h.send(`{"method":"put","resource":"/a","data":${deep(6000)}}`)
  const again = lines.filter((l) => l.msg === 'message dropped: nested deeper than the JSON depth limit')
  assert.equal(again.length, 2)
  assert.equal(again[1]?.dropped, 102, 'the next line carries the drops since the previous one')
  assert.equal(again[1]?.level, 40)
})

test('§8.9: jsonDepth sets the budget; exactly at it passes', () => {
  const h = new Harness({ jsonDepth: 3 })
  const a = h.register('a', { resources: ['/a'] })
  h.send({ id: 1, method: 'put', resource: '/a', tunnel: 'r', data: [[[1]]] })
  assert.equal(h.take(a).length, 1, 'data of depth 3 is routed')
  h.send({ id: 2, method: 'put', resource: '/b', tunnel: 'r', data: [[[[1]]]] })
  assert.match(String((h.one('r').data as { log: string }).log), /nests 4 levels deep, over the limit of 3/)
})

test('[WP-32] merged answers keep __proto__ and constructor keys as own data, no prototype is set', () => {
  const h = new Harness({ mode: 'sanji-compat' })
  h.register('A', { resources: ['/p'] })
  h.register('B', { resources: ['/p'] })
  h.send({ id: 1, method: 'get', resource: '/p', tunnel: 'r' })
  const ra = h.one(h.tunnel('A'))
  assert.equal(h.take(h.tunnel('B')).length, 1)
  h.send(
    `{"id":1,"code":200,"method":"GET","resource":"/p","sign":["B"],"data":{"__proto__":{"polluted":true},"b":1}}`,
    'client-B',
  )
  h.send(
    `{"id":${ra.id},"code":200,"method":"GET","resource":"/p","sign":["A"],"data":{"constructor":{"x":1},"a":1}}`,
    'client-A',
  )
  const raw = h.out.find((p) => p.topic === 'r')
  assert.ok(raw)
  const data = raw.msg.data as Record<string, unknown>
  assert.deepEqual(Object.keys(data).sort(), ['__proto__', 'a', 'b', 'constructor'])
  assert.deepEqual(Object.getOwnPropertyDescriptor(data, '__proto__')?.value, { polluted: true })
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('an in-process request whose data does not serialise answers 500 at once and frees the lock', async () => {
  const h = new Harness()
  const a = h.register('a', { resources: ['/a'] })
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const first = h.core.request({ method: 'put', resource: '/a', data: cyclic as never })
  const second = h.core.request({ method: 'put', resource: '/a', data: { ok: 1 } })
  const outcome = await first
  assert.equal(outcome.kind, 'internal')
  assert.equal(outcome.message.code, 500)
  const forwarded = h.take(a)
  assert.equal(forwarded.length, 1, 'the queued write went out as soon as the lock was free')
  h.answer(forwarded[0] as Envelope, 200, { ok: 1 }, 'a')
  assert.equal((await second).message.code, 200)
})
