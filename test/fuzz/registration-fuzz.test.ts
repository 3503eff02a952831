import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'
import { pick, prng } from '../helpers/prng.ts'

const NAMES = [
  'a',
  'b',
  'thermo',
  'a-b',
  'A9',
  '',
  'a b',
  'x'.repeat(65),
  'x'.repeat(64),
  'registration',
  'dependency',
  'ü',
  7,
  null,
]
const VALUES = [
  undefined,
  null,
  true,
  0,
  -1,
  2.7,
  1e9,
  '',
  'x',
  [],
  [''],
  ['/a'],
  ['/a', '/a'],
  '/a',
  { a: 1 },
  ['/b/+', '/#'],
  ['/'.repeat(1024)],
  [3],
]
const ROLES = ['model', 'view', 'other', '', 5, undefined]

test('10,000 seeded random registrations: exact error replies, a consistent registry, never a crash', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261127)
  const r = prng(seed)
  const h = new Harness({ rejectionIntervalMs: 0 })
  const codes = new Map<number, number>()
  for (let i = 0; i < 10_000; i++) {
    const data: Record<string, unknown> = {}
    if (r() < 0.9) data.name = pick(r, NAMES)
    if (r() < 0.9) data.description = pick(r, ['d', '', 3, undefined])
    if (r() < 0.9) data.role = pick(r, ROLES)
    if (r() < 0.5) data.hook = pick(r, [...VALUES, ['a'], 'b', ['thermo', 'a']])
    if (r() < 0.9) data.ttl = pick(r, [10, 0, -5, 2.5, '10', null, undefined])
    if (r() < 0.9) data.resources = pick(r, VALUES)
    const method = r() < 0.75 ? 'post' : pick(r, ['delete', 'get', 'put'])
    const resource = r() < 0.8 ? '/controller/registration' : `/controller/registration/${pick(r, NAMES)}`
    const msg: Envelope = { id: i + 1, method, resource, tunnel: 'r' } as Envelope
    if (r() < 0.95) msg.data = data as NonNullable<Envelope['data']>
    try {
      h.send(msg, `c${i % 5}`)
    } catch (err) {
      assert.fail(`seed ${seed} case ${i}: ${(err as Error).stack} ${JSON.stringify(msg).slice(0, 300)}`)
    }
    for (const reply of h.take('r')) {
      const code = reply.code as number
      codes.set(code, (codes.get(code) ?? 0) + 1)
      // 408/503: a fuzzed model on a pattern like `/#` also receives registration requests (§4.1: they are routed
      // like any request) and never answers; it ends the session by ttl, or at once when its client goes [WP-43]
      assert.ok(
        [200, 400, 403, 404, 405, 408, 409, 503].includes(code),
        `case ${i}: code ${code} ${JSON.stringify(reply)}`,
      )
      assert.deepEqual(reply.sign, ['controller'])
      if (code === 400) assert.equal((reply.data as { message: string }).message, 'wrong register context')
    }
    if (i % 500 === 0) h.core.clientGone(`c${i % 5}`)
    if (i % 50 === 0) h.clock.advance(1000)
  }
  for (const c of h.core.components()) {
    if (c.builtin) continue
    assert.match(c.name, /^[A-Za-z0-9-]{1,64}$/)
    assert.ok(
      c.patterns.length > 0 &&
        c.patterns.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 1023),
    )
    assert.ok(c.hooks.every((x) => typeof x === 'string' && x.length > 0))
    assert.ok(Number.isInteger(c.ttlSec))
    assert.ok(typeof c.description === 'string' && c.description.length > 0)
  }
  assert.ok((codes.get(200) ?? 0) > 100 && (codes.get(400) ?? 0) > 1000, JSON.stringify([...codes]))
})
