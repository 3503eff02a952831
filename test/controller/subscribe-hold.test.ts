/**
 * The subscription hold with an external broker (docs/protocol.md "Choices", wire-protocol.md §2.1, §4.6 step 4,
 * §8.3): a broker does not tell the controller when a bundle has subscribed to the tunnel it was just given, so our
 * SDK says so on its own presence topic, `{"state": "subscribed", "tunnel": …}`, right after the SUBACK. Until that
 * message arrives (or a short grace expires, for bundles that never send it) messages for the fresh component wait.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { Harness } from '../helpers/controller-harness.ts'

const GRACE_MS = 300

/** A controller as it runs against an external broker: no publisher ids, bundles bound by `data.clientId`. */
function external(): Harness {
  return new Harness({ tracksSubscriptions: true, subscribeWaitMs: GRACE_MS })
}

/** Registers `name` as our SDK does over an external broker (the broker does not tell who published). */
function register(h: Harness, name: string, clientId: string, role = 'model'): string {
  const data = { name, description: name, role, ttl: 10, resources: [`/${name}`], clientId }
  const replyTo = `reply-${name}`
  h.send({ id: h.id(), method: 'post', resource: '/controller/registration', tunnel: replyTo, data }, null)
  const reply = h.one(replyTo)
  const tunnel = (reply.data as { tunnel?: string } | undefined)?.tunnel
  assert.equal(reply.code, 200)
  assert.ok(tunnel)
  return tunnel
}

function subscribed(h: Harness, clientId: string, tunnel: unknown): void {
  h.send({ state: 'subscribed', tunnel } as never, null, `/controller/presence/${clientId}`)
}

describe('[WP-47] external broker: messages for a fresh component wait for its "subscribed" presence message', () => {
  test('requests routed before the message are held, then published in order; later ones go out at once', () => {
    const h = external()
    const t = register(h, 'a', 'bg-a')
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' }, null)
    h.send({ id: 2, method: 'get', resource: '/a', tunnel: 'r' }, null)
    assert.equal(h.take(t).length, 0, 'held: the bundle may not have its SUBACK yet')
    subscribed(h, 'bg-a', t)
    assert.deepEqual(
      h.take(t).map((m) => m.id),
      [1, 2],
    )
    h.send({ id: 3, method: 'get', resource: '/a', tunnel: 'r' }, null)
    assert.equal(h.take(t).length, 1, 'published at once from then on')
    assert.equal(h.clock.pending, 3, 'only the three sessions’ ttl timers are left, no hold timer')
  })

  test('the message counts only from the client the component is bound to, and only for its own tunnel', () => {
    const h = external()
    const t = register(h, 'a', 'bg-a')
    const other = register(h, 'b', 'bg-b')
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' }, null)
    subscribed(h, 'bg-b', t) // another client claims a's tunnel
    subscribed(h, 'bg-a', other) // a claims b's tunnel
    subscribed(h, 'bg-a', 42) // not a string
    h.send('{"state":"subscribed"}', null, '/controller/presence/bg-a') // no tunnel
    assert.equal(h.take(t).length, 0, 'still held')
    subscribed(h, 'bg-a', t)
    assert.equal(h.take(t).length, 1)
  })

  test('a bundle that never says it (an original Python bundle) gets its messages after the grace, counted from its registration', () => {
    const h = external()
    const t = register(h, 'py', 'py-client')
    h.clock.advance(100)
    h.send({ id: 1, method: 'get', resource: '/py', tunnel: 'r' }, null)
    h.clock.advance(GRACE_MS - 101)
    assert.equal(h.take(t).length, 0, 'held until the grace after the registration')
    h.clock.advance(1)
    assert.equal(h.take(t).length, 1, 'released when the grace expires')
    const u = register(h, 'py2', 'py2-client')
    h.clock.advance(GRACE_MS)
    h.send({ id: 2, method: 'get', resource: '/py2', tunnel: 'r' }, null)
    assert.equal(h.take(u).length, 1, 'a request arriving after the grace is never held')
  })

  test('events and final answers for a fresh view are held the same way; "offline" still marks the client offline', () => {
    const h = external()
    const m = register(h, 'm', 'bg-m')
    subscribed(h, 'bg-m', m)
    const v = register(h, 'v', 'bg-v', 'view')
    h.send({ method: 'put', resource: '/v', code: 200, data: 1 }, null) // an event for the view
    h.send({ id: 5, method: 'get', resource: '/v', data: {} }, null) // plain: its final answer goes to the view
    assert.equal(h.take(v).length, 0, 'held')
    subscribed(h, 'bg-v', v)
    const got = h.take(v)
    assert.equal(got.length, 2)
    assert.equal(got[0]?.data, 1)
    assert.equal(got[1]?.id, 5)
    h.send({ clientId: 'bg-m', state: 'offline' } as never, null, '/controller/presence/bg-m')
    const r = h.core.components().find((c) => c.name === 'm')
    assert.equal(r?.online, false)
  })

  test('a re-registration holds again until the new tunnel is reported', () => {
    const h = external()
    const t1 = register(h, 'a', 'bg-a')
    subscribed(h, 'bg-a', t1)
    h.send(
      {
        id: 9,
        method: 'delete',
        resource: '/controller/registration',
        tunnel: 'reply-a',
        data: { name: 'a' },
      },
      null,
    )
    assert.equal(h.one('reply-a').code, 200)
    const t2 = register(h, 'a', 'bg-a')
    assert.notEqual(t2, t1)
    h.send({ id: 1, method: 'get', resource: '/a', tunnel: 'r' }, null)
    assert.equal(h.take(t2).length, 0)
    subscribed(h, 'bg-a', t1) // a late report for the old tunnel changes nothing
    assert.equal(h.take(t2).length, 0)
    subscribed(h, 'bg-a', t2)
    assert.equal(h.take(t2).length, 1)
  })
})
