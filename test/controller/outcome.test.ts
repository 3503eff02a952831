import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Outcome } from '../../src/controller/index.ts'
import { type Json, WIRE_TEXT } from '../../src/protocol/index.ts'
import { Harness } from '../helpers/controller-harness.ts'

/** Issue 13 step 4: an in-process caller reads what went wrong from typed fields; the wire text is the same end. */
describe('typed outcomes of in-process requests (wire-protocol.md §8.5)', () => {
  test('an answer carries the model code, data and sign', async () => {
    const h = new Harness()
    h.register('a', { resources: ['/a'] })
    const pending = h.core.request({ method: 'get', resource: '/a' })
    const [req] = h.take(h.tunnel('a'))
    h.answer(req as never, 201, { made: true }, 'a')
    const o = await pending
    assert.equal(o.kind, 'answer')
    if (o.kind !== 'answer') return
    assert.equal(o.code, 201)
    assert.deepEqual(o.data, { made: true })
    assert.deepEqual(o.sign, ['a'])
    assert.equal(o.message.code, 201, 'the wire message is the same answer')
  })

  test('a bad request names its reason; the wire text says the same', async () => {
    const h = new Harness()
    const o = await h.core.request({ method: 'get', resource: `/${'x'.repeat(1100)}` })
    assert.equal(o.kind, 'bad-request')
    if (o.kind !== 'bad-request') return
    assert.equal(o.reason, "'resource' exceeds 1023 characters")
    assert.deepEqual(o.message.data, { message: WIRE_TEXT.wrongRequest, log: o.reason })
  })

  test('the in-flight bound and a stop are both unavailable, told apart by cause [WP-59] §8.9', async () => {
    const h = new Harness({ sessionLimit: 1 })
    h.register('slow', { resources: ['/slow'], ttl: 5 })
    const first = h.core.request({ method: 'get', resource: '/slow' })
    const busy = await h.core.request({ method: 'get', resource: '/slow' })
    assert.equal(busy.kind, 'unavailable')
    assert.deepEqual(busy.kind === 'unavailable' && busy.cause === 'busy' ? busy.limit : undefined, 1)
    assert.deepEqual(busy.message.data, { message: WIRE_TEXT.tooManyInFlight, log: 'at most 1 at once' })
    h.core.close()
    const stopped = await first
    assert.equal(stopped.kind === 'unavailable' ? stopped.cause : stopped.kind, 'stopping')
    assert.deepEqual(stopped.message.data, {
      message: WIRE_TEXT.serviceUnavailable,
      log: WIRE_TEXT.controllerStopping,
    })
  })

  test('a timeout names the late bundle and the step ttl; a value that does not serialise is internal', async () => {
    const h = new Harness()
    h.register('late', { resources: ['/late'], ttl: 2 })
    const pending = h.core.request({ method: 'get', resource: '/late' })
    h.clock.advance(2000)
    const o: Outcome = await pending
    assert.deepEqual(o.kind === 'timeout' ? [o.bundle, o.ttlMs] : o.kind, ['late', 2000])
    assert.deepEqual(o.message.data, { message: WIRE_TEXT.ttlExpired })
    const odd = await h.core.request({ method: 'put', resource: '/late', data: { n: 1n } as unknown as Json })
    assert.equal(odd.kind, 'internal')
    assert.match(odd.kind === 'internal' ? odd.reason : '', /BigInt/)
    assert.equal((odd.message.data as { message?: string }).message, WIRE_TEXT.cannotSerialise)
  })
})
