/**
 * The aedes adapter of broker authentication (src/broker/broker-auth.ts): it wires the rules to an aedes instance
 * and `close()` removes every listener it added. A real aedes instance without a TCP listener, fake clients, a
 * credential checker in memory: no gateway, no SQLite, no TCP.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Aedes, type AuthenticateError, type Client } from 'aedes'
import {
  type BrokerCredentialChecker,
  type ControllerView,
  installBrokerAuth,
} from '../../src/broker/broker-auth.ts'
import { installSessionExpiry, type SessionExpiry } from '../../src/broker/session-expiry.ts'
import { silentLogger } from '../../src/logger.ts'

/** Every listener on `aedes`, by event name. */
function listenerCounts(aedes: Aedes): Record<string, number> {
  const emitter = aedes as unknown as NodeJS.EventEmitter
  const counts: Record<string, number> = {}
  for (const name of emitter.eventNames()) counts[String(name)] = emitter.listenerCount(name)
  return counts
}

const credentials: BrokerCredentialChecker = {
  verify: (username, password) =>
    username === 'alice' && password === 'right'
      ? { ok: true, credential: { id: 'bc_alice', bundle: 'alice' } }
      : { ok: false, reason: 'unknown' },
  isActive: () => true,
  hasActive: () => false,
}

/** A SessionExpiry that counts the onEnd listeners held now. */
function countingSessions(inner: SessionExpiry): SessionExpiry & { listeners(): number } {
  let held = 0
  return {
    ...inner,
    onEnd(listener) {
      held++
      const off = inner.onEnd(listener)
      return () => {
        held--
        off()
      }
    },
    listeners: () => held,
  }
}

/** A controller view that counts its change listeners. */
function fakeController(): ControllerView & { listeners(): number } {
  const listeners = new Set<unknown>()
  return {
    tunnelOwner: (topic) => (topic === '17' ? 'alice' : undefined),
    onChange(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    listeners: () => listeners.size,
  }
}

function connect(aedes: Aedes, client: Partial<Client>, username?: string, password?: string) {
  return new Promise<{ ok: boolean; returnCode?: number | undefined }>((resolve) => {
    aedes.authenticate(
      client as Client,
      username,
      password === undefined ? undefined : Buffer.from(password),
      (err, ok) => resolve({ ok: ok === true, returnCode: (err as AuthenticateError | null)?.returnCode }),
    )
  })
}

test('broker auth adapter: close() removes every listener it added (aedes, sessions, controller)', async (t) => {
  const aedes = await Aedes.createBroker()
  t.after(() => new Promise<void>((resolve) => aedes.close(() => resolve())))
  const expiry = installSessionExpiry(aedes, 60_000, silentLogger())
  t.after(() => expiry.close())
  const sessions = countingSessions(expiry)
  const before = listenerCounts(aedes)
  const auth = installBrokerAuth(aedes, { credentials, recheckMs: 60_000 }, silentLogger(), sessions)
  const controller = fakeController()
  auth.bindController(controller)
  assert.notDeepEqual(listenerCounts(aedes), before, 'the adapter listens to aedes')
  assert.equal(sessions.listeners(), 1)
  assert.equal(controller.listeners(), 1)
  auth.close()
  assert.deepEqual(listenerCounts(aedes), before, 'every aedes listener is gone')
  assert.equal(sessions.listeners(), 0, 'the session-end listener is gone')
  assert.equal(controller.listeners(), 0, 'the controller listener is gone')
  auth.close() // again: nothing
  assert.deepEqual(listenerCounts(aedes), before)
})

test('broker auth adapter: the hooks follow the rules, and a closed adapter still refuses', async (t) => {
  const aedes = await Aedes.createBroker()
  t.after(() => new Promise<void>((resolve) => aedes.close(() => resolve())))
  const sessions = installSessionExpiry(aedes, 60_000, silentLogger())
  t.after(() => sessions.close())
  const auth = installBrokerAuth(aedes, { credentials, recheckMs: 60_000 }, silentLogger(), sessions)
  auth.bindController(fakeController())
  assert.deepEqual(await connect(aedes, { id: 'c0', clean: true }), { ok: false, returnCode: 5 })
  assert.deepEqual(await connect(aedes, { id: 'c1', clean: true }, 'alice', 'wrong'), {
    ok: false,
    returnCode: 4,
  })
  const alice = { id: 'c2', clean: true } as Client
  assert.deepEqual(await connect(aedes, alice, 'alice', 'right'), { ok: true, returnCode: undefined })
  const subscribe = (topic: string) =>
    new Promise<boolean>((resolve) =>
      aedes.authorizeSubscribe(alice, { topic, qos: 1 }, (_err, sub) => resolve(sub !== null)),
    )
  assert.equal(await subscribe('17'), true, "alice's own component tunnel")
  assert.equal(await subscribe('#'), false)
  assert.equal(await subscribe('0123456789abcdef0123456789abcdef'), true, 'a reply tunnel')
  assert.equal(auth.replyTunnelOwner('0123456789abcdef0123456789abcdef'), 'alice')
  const publish = (topic: string) =>
    new Promise<boolean>((resolve) =>
      aedes.authorizePublish(alice, { topic } as Parameters<Aedes['authorizePublish']>[1], (err) =>
        resolve(!err),
      ),
    )
  assert.equal(await publish('/controller'), true)
  assert.equal(await publish('/elsewhere'), false)
  assert.deepEqual(
    { ...auth.stats() },
    {
      connectsRefused: 2,
      publishesDenied: 1,
      subscriptionsDenied: 1,
      registrationsRefused: 0,
      revokedDisconnects: 0,
      sessionsRefused: 0,
      sessionOwners: 0,
    },
  )
  auth.close()
  assert.deepEqual(await connect(aedes, { id: 'c3', clean: true }), { ok: false, returnCode: 5 })
  assert.equal(await publish('/elsewhere'), false, 'closing the adapter does not open the broker')
})
