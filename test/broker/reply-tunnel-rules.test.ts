/**
 * Reply-tunnel ownership under broker authentication (src/broker/reply-tunnels.ts, docs/security.md): who holds a
 * reply tunnel, when it is released, and who may name it as a request's reply tunnel. No gateway, no SQLite, no TCP:
 * clients are plain objects.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mayReplyTo, ReplyTunnels } from '../../src/broker/reply-tunnels.ts'

type FakeClient = { id: string; closed?: boolean }
const tunnels = () => new ReplyTunnels<FakeClient>((c) => c.closed === true)

test('reply-tunnel rule: mayReplyTo, as a table', () => {
  const table: Array<[string | undefined, string | undefined, boolean]> = [
    [undefined, 'alice', true], // nobody holds it
    ['alice', 'alice', true], // its own
    ['bob', 'alice', false], // another user's: the answer would land in bob's tunnel
    ['bob', undefined, false], // an unauthenticated client never names a held one
    [undefined, undefined, true],
  ]
  for (const [holder, user, expected] of table)
    assert.equal(mayReplyTo(holder, user), expected, `holder ${holder}, user ${user}`)
})

test('reply-tunnel rule: the first user holds it while any of its clients does', () => {
  const t = tunnels()
  const a1 = { id: 'a1' }
  const a2 = { id: 'a2' }
  assert.equal(t.owner('tun'), undefined)
  t.hold(a1, 'alice', 'tun')
  t.hold(a2, 'alice', 'tun')
  assert.equal(t.owner('tun'), 'alice')
  t.release(a1, 'tun')
  assert.equal(t.owner('tun'), 'alice', 'a2 still holds it')
  t.release(a2, 'tun')
  assert.equal(t.owner('tun'), undefined, 'released at its last unsubscribe')
  assert.equal(t.size, 0, 'no entry is left behind')
})

test('reply-tunnel rule: a disconnect releases every tunnel of that client, only that client', () => {
  const t = tunnels()
  const a = { id: 'a' }
  const b = { id: 'b' }
  t.hold(a, 'alice', 'x')
  t.hold(a, 'alice', 'y')
  t.hold(b, 'bob', 'z')
  t.releaseAll(a)
  assert.equal(t.owner('x'), undefined)
  assert.equal(t.owner('y'), undefined)
  assert.equal(t.owner('z'), 'bob')
  t.releaseAll(a) // again: nothing
  assert.equal(t.size, 1)
})

test('reply-tunnel rule: a client that went away unheard is forgotten at the next look', () => {
  const t = tunnels()
  const gone: FakeClient = { id: 'gone' }
  t.hold(gone, 'alice', 'tun')
  gone.closed = true
  assert.equal(t.owner('tun'), undefined)
  assert.equal(t.size, 0)
})

test('reply-tunnel rule: releasing a topic never held, or by a client that does not hold it, changes nothing', () => {
  const t = tunnels()
  const a = { id: 'a' }
  t.hold(a, 'alice', 'tun')
  t.release({ id: 'other' }, 'tun')
  t.release(a, 'never')
  assert.equal(t.owner('tun'), 'alice')
})
