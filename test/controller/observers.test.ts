import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'

test('[WP-38] onEvent sees every valid event, also when no view matches; invalid ones are not reported', () => {
  const h = new Harness()
  const seen: Envelope[] = []
  const stop = h.core.onEvent((m) => seen.push(m))
  h.send({ method: 'put', resource: '/nobody', code: 200, data: { x: 1 } })
  h.send({ method: 'put', resource: '', code: 200 })
  h.send({ method: 7, resource: '/a', code: 200 })
  assert.deepEqual(seen, [{ method: 'put', resource: '/nobody', code: 200, data: { x: 1 } }])
  stop()
  h.send({ method: 'put', resource: '/nobody', code: 200 })
  assert.equal(seen.length, 1)
})

test('per-component stats count requests and keep the last error; a new registration starts from zero', () => {
  const h = new Harness()
  const t = h.register('a', { resources: '/a' })
  const ask = (n: number) => {
    h.send({ id: n, method: 'get', resource: '/a', tunnel: 'r' })
    return h.one(t)
  }
  h.answer(ask(1), 200, { ok: true }, 'a')
  h.answer(ask(2), 500, { message: 'disk on fire' }, 'a')
  h.answer(ask(3), 200, {}, 'a')
  const a = h.core.components().find((c) => c.name === 'a')
  assert.equal(a?.stats.requests, 3)
  assert.equal(a?.stats.errors, 1)
  assert.equal(a?.stats.lastError?.code, 500)
  assert.equal(a?.stats.lastError?.message, 'disk on fire')
  h.send({ id: h.id(), method: 'delete', resource: '/controller/registration/a', tunnel: 'd' })
  assert.equal(h.one('d').code, 200)
  h.register('a', { resources: '/a' })
  assert.equal(h.core.components().find((c) => c.name === 'a')?.stats.requests, 0)
})
