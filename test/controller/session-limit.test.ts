import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Harness } from '../helpers/controller-harness.ts'

test('§8.9 requests in flight are capped: past the limit 503 at once, a slot frees at the ttl; registrations still pass', () => {
  const h = new Harness({ sessionLimit: 3 })
  h.register('silent', { resources: ['/silent'], ttl: 5 })
  for (let id = 1; id <= 3; id++)
    h.send({ id: 9000 + id, method: 'get', resource: '/silent', tunnel: `r${id}` })
  assert.equal(h.take(h.tunnel('silent')).length, 3, 'three requests reach the model')
  h.send({ id: 9004, method: 'get', resource: '/silent', tunnel: 'r4' })
  const refused = h.one('r4')
  assert.equal(refused.code, 503)
  assert.deepEqual(refused.data, { message: 'too many requests in flight', log: 'at most 3 at once' })
  assert.equal(h.take(h.tunnel('silent')).length, 0, 'the fourth never reached the model')
  h.register('late', { resources: ['/late'], ttl: 5 }) // a built-in request is not counted
  h.clock.advance(5000) // the three expire
  for (let id = 1; id <= 3; id++) assert.equal(h.one(`r${id}`).code, 408)
  h.send({ id: 9005, method: 'get', resource: '/silent', tunnel: 'r5' })
  assert.equal(h.take(h.tunnel('silent')).length, 1, 'after the ttl a new request starts again')
})
