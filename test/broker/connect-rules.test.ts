/**
 * The CONNECT rule of broker authentication (src/broker/connect-rule.ts, docs/security.md) as a table: no gateway,
 * no SQLite, no TCP.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type ConnectDecision,
  type ConnectInput,
  connectDecision,
  credentialsGiven,
  MAX_PERSISTENT_SESSIONS,
  MAX_PERSISTENT_SESSIONS_PER_USER,
} from '../../src/broker/connect-rule.ts'

const alice = { ok: true, credential: { id: 'bc_alice00001', bundle: 'alice' } } as const

/** A CONNECT of alice with a good credential, a clean session, nobody else around. */
function input(over: Partial<ConnectInput> = {}): ConnectInput {
  return {
    clientId: 'bg-1',
    username: 'alice',
    hasPassword: true,
    clean: true,
    lookup: alice,
    clientIdUser: undefined,
    sessionOwner: undefined,
    persistentSessions: 0,
    sessionsOf: () => 0,
    ...over,
  }
}

const allowed = (claimSession: boolean): ConnectDecision => ({
  allow: true,
  user: 'alice',
  credentialId: 'bc_alice00001',
  claimSession,
})
const refused = (returnCode: 2 | 4 | 5, reason: string) => ({
  allow: false as const,
  returnCode,
  reason,
})

const table: Array<[string, Partial<ConnectInput>, ConnectDecision]> = [
  ['good credential, clean session', {}, allowed(false)],
  ['good credential, persistent session: claims it', { clean: false }, allowed(true)],
  ['no user name', { username: undefined, lookup: undefined }, refused(5, 'no user name or password')],
  ['empty user name', { username: '', lookup: undefined }, refused(5, 'no user name or password')],
  ['no password', { hasPassword: false, lookup: undefined }, refused(5, 'no user name or password')],
  [
    'no password, even with a lookup that would pass',
    { hasPassword: false },
    refused(5, 'no user name or password'),
  ],
  ['the credential check threw', { lookup: 'failed' }, refused(5, 'credential check failed')],
  ['credentials given but never checked', { lookup: undefined }, refused(5, 'credential check failed')],
  ['unknown credential', { lookup: { ok: false, reason: 'unknown' } }, refused(4, 'unknown')],
  ['revoked credential', { lookup: { ok: false, reason: 'revoked' } }, refused(4, 'revoked')],
  ['malformed password', { lookup: { ok: false, reason: 'malformed' } }, refused(4, 'malformed')],
  ['client id held by the same user: takeover allowed', { clientIdUser: 'alice' }, allowed(false)],
  [
    'client id held by another user (MQTT 3.1.1 §3.1.4 takeover)',
    { clientIdUser: 'bob' },
    refused(2, "client id in use by another user ('bob')"),
  ],
  ['own persistent session resumed', { clean: false, sessionOwner: 'alice' }, allowed(true)],
  ['own persistent session wiped by a clean one', { sessionOwner: 'alice' }, allowed(false)],
  [
    "another user's persistent session, resumed",
    { clean: false, sessionOwner: 'bob' },
    {
      ...refused(2, "client id has a persistent session of another user ('bob')"),
      sessionConflict: true,
    },
  ],
  [
    "another user's persistent session, wiped by a clean one",
    { sessionOwner: 'bob' },
    {
      ...refused(2, "client id has a persistent session of another user ('bob')"),
      sessionConflict: true,
    },
  ],
  [
    'a new persistent session at the global limit',
    { clean: false, persistentSessions: MAX_PERSISTENT_SESSIONS },
    refused(2, 'too many persistent sessions'),
  ],
  [
    'a new persistent session at the per-user limit',
    { clean: false, sessionsOf: (u) => (u === 'alice' ? MAX_PERSISTENT_SESSIONS_PER_USER : 0) },
    refused(2, 'too many persistent sessions of this user'),
  ],
  [
    "another user's sessions do not count against alice",
    { clean: false, sessionsOf: (u) => (u === 'bob' ? MAX_PERSISTENT_SESSIONS_PER_USER : 0) },
    allowed(true),
  ],
  [
    'an owned session is resumed at the limits (it is no new one)',
    {
      clean: false,
      sessionOwner: 'alice',
      persistentSessions: MAX_PERSISTENT_SESSIONS,
      sessionsOf: () => MAX_PERSISTENT_SESSIONS_PER_USER,
    },
    allowed(true),
  ],
  [
    'a clean session at the limits',
    { persistentSessions: MAX_PERSISTENT_SESSIONS, sessionsOf: () => MAX_PERSISTENT_SESSIONS_PER_USER },
    allowed(false),
  ],
]

for (const [name, over, expected] of table) {
  test(`connect rule: ${name}`, () => {
    assert.deepEqual(connectDecision(input(over)), expected)
  })
}

test('connect rule: the check order is credentials, then the client id, then the session', () => {
  // a wrong password with a taken client id is a 4, not a 2: nothing is told about the id to a stranger
  assert.deepEqual(
    connectDecision(
      input({ lookup: { ok: false, reason: 'unknown' }, clientIdUser: 'bob', sessionOwner: 'bob' }),
    ),
    refused(4, 'unknown'),
  )
  const both = connectDecision(input({ clientIdUser: 'bob', sessionOwner: 'carol' }))
  assert.deepEqual(both, refused(2, "client id in use by another user ('bob')"))
})

test('connect rule: limits can be given, and the lower one decides', () => {
  const small = { total: 2, perUser: 1 }
  assert.deepEqual(connectDecision(input({ clean: false, persistentSessions: 1 }), small), allowed(true))
  assert.deepEqual(
    connectDecision(input({ clean: false, persistentSessions: 2 }), small),
    refused(2, 'too many persistent sessions'),
  )
  assert.deepEqual(
    connectDecision(input({ clean: false, sessionsOf: () => 1 }), small),
    refused(2, 'too many persistent sessions of this user'),
  )
})

test('connect rule: credentialsGiven needs a non-empty user name and a password', () => {
  assert.equal(credentialsGiven('alice', true), true)
  assert.equal(credentialsGiven('alice', false), false)
  assert.equal(credentialsGiven('', true), false)
  assert.equal(credentialsGiven(undefined, true), false)
})
