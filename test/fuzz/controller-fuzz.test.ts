import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'
import { prng } from '../helpers/prng.ts'

const RESOURCES = [
  '/a',
  '/a/1',
  '/b/x?y=1',
  '/controller/registration',
  '/controller/registration/fz',
  '/controller/resource/dependency?resource=/a',
  '#',
  '+',
  '/a/#',
  '',
  '/\u0000',
  '/ü/✓',
]
const METHODS = ['get', 'post', 'put', 'delete', 'GET', 'patch', '', 'x'.repeat(300)]

function value(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 6 ? 6 : 9))
  switch (k) {
    case 0:
      return null
    case 1:
      return r() < 0.5
    case 2:
      return [0, -1, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER, 1e308][Math.floor(r() * 6)]
    case 3:
      return ['', 'x', '\ud800', '😀', 'a'.repeat(2000)][Math.floor(r() * 5)]
    case 4:
      return RESOURCES[Math.floor(r() * RESOURCES.length)]
    case 5:
      return METHODS[Math.floor(r() * METHODS.length)]
    case 6:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1))
    default: {
      const o: Record<string, unknown> = {}
      for (let i = Math.floor(r() * 5); i > 0; i--)
        o[['data', 'x', 'name', 'role', 'ttl', 'resources', 'hook'][Math.floor(r() * 7)] as string] = value(
          r,
          depth + 1,
        )
      return o
    }
  }
}

function message(r: () => number): string {
  const roll = r()
  if (roll < 0.05)
    return ['', 'not json', '[1]', '"s"', '{', 'null', '{"a":'.repeat(50)][Math.floor(r() * 7)] as string
  if (roll < 0.08) {
    // deep nesting
    let s = '1'
    for (let i = Math.floor(r() * 2000); i > 0; i--) s = `[${s}]`
    return `{"id":5,"method":"get","resource":"/a","data":${s}}`
  }
  const m: Record<string, unknown> = {}
  const keys = ['id', 'method', 'resource', 'data', 'code', 'sign', 'tunnel', 'caller', 'extra']
  for (const key of keys)
    if (r() < 0.6) m[key] = key === 'id' && r() < 0.7 ? Math.floor(r() * 50) : value(r, 0)
  if (r() < 0.3) m.resource = RESOURCES[Math.floor(r() * RESOURCES.length)]
  if (r() < 0.3) m.method = METHODS[Math.floor(r() * METHODS.length)]
  if (r() < 0.4) m.tunnel = `t${Math.floor(r() * 3)}`
  return JSON.stringify(m)
}

test('[WP-3] [WP-59] 12,000 seeded random messages on /controller: no crash, every reply well-formed', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261125)
  const r = prng(seed)
  const h = new Harness({ subscribeWaitMs: 50 })
  h.register('a', { resources: ['/a', '/a/+'], ttl: 1 })
  h.register('v', { role: 'view', resources: ['/#'] })
  let replies = 0
  for (let i = 0; i < 12_000; i++) {
    const payload = message(r)
    try {
      h.send(payload, `c${i % 7}`)
      if (i % 97 === 0) h.core.handleMessage(`/controller/presence/c${i % 7}`, '{"state":"offline"}')
      if (i % 13 === 0) h.clock.advance(250)
    } catch (err) {
      assert.fail(`seed ${seed}, case ${i}: ${(err as Error).stack}\npayload: ${payload.slice(0, 300)}`)
    }
    for (const { topic, msg } of h.out.splice(0)) {
      if (!(Array.isArray(msg.sign) && msg.sign[0] === 'controller')) continue // forwarded messages
      replies++
      assert.equal(typeof msg.code, 'number', `case ${i} → ${topic}`)
      assert.equal(typeof msg.method, 'string')
      assert.ok(!('tunnel' in msg), '[WP-9] no tunnel in controller messages')
    }
  }
  h.clock.advance(60_000)
  assert.ok(replies > 100, `only ${replies} controller replies: the fuzzer is not reaching the pipeline`)
  const stats = h.core.stats()
  assert.equal(stats.sessions, 0, 'every session ended (ttl)')
  assert.equal(stats.queued, 0)
})

test('[WP-24] request resources with # and + never match what they should not', () => {
  const h = new Harness()
  const t = h.register('exact', { resources: ['/data/item'] })
  for (const resource of ['/data/#', '/data/+', '#', '+', '/data/item#', '/data/ite+']) {
    h.send({ id: 9, method: 'get', resource, tunnel: 'r' } as Envelope)
    assert.equal(h.take(t).length, 0, resource)
    assert.equal(h.one('r').code, 404, resource)
  }
})
