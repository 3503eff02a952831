/**
 * The revocation rule of broker authentication (src/broker/revocation-rule.ts, docs/security.md): which connected
 * clients lost their credential. No gateway, no SQLite, no TCP.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { revokedClients } from '../../src/broker/revocation-rule.ts'

const connected = [
  { client: 'c1', credentialId: 'bc_a' },
  { client: 'c2', credentialId: 'bc_b' },
  { client: 'c3', credentialId: 'bc_a' },
  { client: 'c4', credentialId: 'bc_c' },
]

test('revocation rule, as a table: the clients of revoked credentials, in order', () => {
  const table: Array<[string[], string[]]> = [
    [[], ['c1', 'c2', 'c3', 'c4']], // nothing active
    [['bc_a', 'bc_b', 'bc_c'], []], // everything active
    [
      ['bc_b', 'bc_c'],
      ['c1', 'c3'],
    ], // both clients of bc_a
    [['bc_a'], ['c2', 'c4']],
  ]
  for (const [active, expected] of table) {
    const sweep = revokedClients(connected, (id) => active.includes(id))
    assert.deepEqual(sweep, { revoked: expected }, `active: ${active.join(', ')}`)
  }
})

test('revocation rule: a look-up that throws stops the sweep, keeping what was found before', () => {
  const boom = new Error('database is locked')
  const sweep = revokedClients(connected, (id) => {
    if (id === 'bc_c') throw boom
    return id !== 'bc_b'
  })
  assert.deepEqual(sweep, { revoked: ['c2'], failed: { error: boom } })
  const first = revokedClients(connected, () => {
    throw boom
  })
  assert.deepEqual(first, { revoked: [], failed: { error: boom } }, 'nobody is cut for an unreadable store')
})

test('revocation rule: no clients, no look-ups', () => {
  let calls = 0
  assert.deepEqual(
    revokedClients([], () => {
      calls++
      return false
    }),
    { revoked: [] },
  )
  assert.equal(calls, 0)
})
