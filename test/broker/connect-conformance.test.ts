/**
 * MQTT 3.1.1 conformance of the embedded broker's connect path (docs/protocol.md, "Connect-path conformance") and the
 * lifetime of persistent sessions (docs/security.md, "Persistent sessions"). CONNECT packets are written by hand
 * (test/helpers/raw-mqtt.ts) so that malformed ones reach the broker; the same packets go to a real mosquitto 2.0
 * for comparison. Everything on 127.0.0.1 and free ports.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, type TestContext, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { type EmbeddedBroker, MAX_PERSISTENT_SESSIONS_PER_USER, startBroker } from '../../src/broker/index.ts'
import type { Gateway } from '../../src/server.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { type Mosquitto, mqttConnect, startMosquitto } from '../helpers/processes.ts'
import { connectPacket, type RawConnect, type RawOutcome, rawExchange } from '../helpers/raw-mqtt.ts'

const TEST_TIMEOUT_MS = 30_000
const uid = (prefix: string) => `${prefix}-${randomBytes(6).toString('hex')}`
const REFUSED_2 = { connack: 2, sessionPresent: false, closed: true }

/** What aedes' persistence holds for a client id: its subscriptions and its queued outgoing messages. */
async function stored(broker: EmbeddedBroker, id: string): Promise<{ subs: number; queued: number }> {
  const p = (
    broker.aedes as unknown as {
      persistence: {
        subscriptionsByClient(c: { id: string }): Promise<unknown[] | null>
        outgoingStream(c: { id: string }): AsyncIterable<unknown>
      }
    }
  ).persistence
  let queued = 0
  for await (const _ of p.outgoingStream({ id })) queued++
  return { subs: (await p.subscriptionsByClient({ id }))?.length ?? 0, queued }
}

async function connected(url: string, options: Parameters<typeof mqttConnect>[1]): Promise<MqttClient> {
  const r = await mqttConnect(url, options)
  assert.ok('client' in r, `refused with ${'refused' in r ? r.refused : ''}`)
  return r.client
}

/** A persistent session under `clientId` with one QoS 1 subscription, left by its client (clean disconnect). */
async function leaveSession(broker: EmbeddedBroker, clientId: string, extra: Record<string, string> = {}) {
  const c = await connected(broker.url, { clientId, clean: false, ...extra })
  const topic = `cc/${clientId}`
  await c.subscribeAsync(topic, { qos: 1 })
  await c.endAsync()
  const clients = (broker.aedes as unknown as { clients: Record<string, unknown> }).clients
  await waitFor(() => clients[clientId] === undefined, 5000, 'the disconnect')
  return topic
}

/** Publishes a QoS 1 message in-process and resolves once aedes has queued it for offline sessions. */
const publish = (broker: EmbeddedBroker, topic: string, payload: string) =>
  new Promise<void>((resolve) =>
    broker.aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, () =>
      resolve(),
    ),
  )

describe('embedded broker, broker authentication off', () => {
  const cleanup = lifo({ after })
  let broker: EmbeddedBroker
  let shortLived: EmbeddedBroker

  before(async () => {
    broker = await startBroker({ port: 0 })
    cleanup(() => broker.close())
    shortLived = await startBroker({ port: 0, sessionExpiryMs: 300 })
    cleanup(() => shortLived.close())
  })

  test('[MQTT-3.1.3-8] an empty client id with CleanSession 0 gets CONNACK 2 and a closed connection (auth off)', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    assert.deepEqual(await rawExchange(broker.port, connectPacket({ clientId: '', clean: false })), REFUSED_2)
  })

  test('[MQTT-3.1.3-6] an empty client id with CleanSession 1 is still accepted (the broker assigns an id)', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const r = await rawExchange(broker.port, connectPacket({ clientId: '', clean: true }))
    assert.deepEqual(r, { connack: 0, sessionPresent: false, closed: false })
  })

  test('[MQTT-3.1.3-8] 200 such CONNECTs leave no session behind', { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = broker.stats()
    for (let i = 0; i < 200; i++)
      assert.deepEqual(
        await rawExchange(broker.port, connectPacket({ clientId: '', clean: false })),
        REFUSED_2,
      )
    assert.equal(broker.stats().persistentSessions, before.persistentSessions)
    assert.equal(broker.stats().connectsRejected, before.connectsRejected + 200, 'each one counted')
  })

  test('a persistent session outlives its connection within the expiry: queued messages wait for the client', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const id = uid('cc-keep')
    const topic = await leaveSession(broker, id)
    await publish(broker, topic, 'queued')
    assert.deepEqual(await stored(broker, id), { subs: 1, queued: 1 })
    const r = await rawExchange(broker.port, connectPacket({ clientId: id, clean: false }))
    assert.equal(r.connack, 0)
    assert.equal(r.sessionPresent, true, 'the session is resumed')
  })

  test('a persistent session nobody resumes expires (sessionExpiryMs): its subscriptions and queue are wiped', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const start = shortLived.stats()
    const id = uid('cc-expire')
    const topic = await leaveSession(shortLived, id)
    await publish(shortLived, topic, 'lost')
    await waitFor(() => shortLived.stats().sessionsExpired === start.sessionsExpired + 1, 5000, 'the expiry')
    assert.equal(shortLived.stats().persistentSessions, start.persistentSessions)
    assert.deepEqual(await stored(shortLived, id), { subs: 0, queued: 0 })
    const r = await rawExchange(shortLived.port, connectPacket({ clientId: id, clean: false }))
    assert.deepEqual(r, { connack: 0, sessionPresent: false, closed: false })
  })
})

type Credential = { username: string; password: string }

/** A gateway with broker authentication on; `sessionExpirySec` as given. */
function authGateway(sessionExpirySec?: number) {
  const cleanup = lifo({ after })
  const g = {} as {
    gateway: Gateway
    broker: EmbeddedBroker
    cred(user: string): Credential
    owners(): number
  }
  before(async () => {
    const gateway = await startTestGateway({
      broker: { auth: 'on', ...(sessionExpirySec ? { sessionExpirySec } : {}) },
    })
    cleanup(() => gateway.close())
    const store = gateway.brokerCredentials
    assert.ok(gateway.broker?.auth && store)
    const broker = gateway.broker
    Object.assign(g, {
      gateway,
      broker,
      cred: (user: string) => {
        const { username, password } = store.create(user)
        return { username, password }
      },
      owners: () => {
        const s = broker.auth?.stats()
        assert.ok(s)
        return s.sessionOwners
      },
    })
  })
  return g
}

describe('embedded broker, broker authentication on, sessions expire after 1 s', () => {
  const g = authGateway(1)
  const clients: MqttClient[] = []
  after(() => {
    for (const c of clients) c.end(true)
  })

  test('[MQTT-3.1.3-8] an empty client id with CleanSession 0 gets CONNACK 2 and a closed connection (auth on)', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const packet = connectPacket({ clientId: '', clean: false, ...g.cred('bob') })
    assert.deepEqual(await rawExchange(g.broker.port, packet), REFUSED_2)
  })

  test('[MQTT-3.1.3-8] 200 such CONNECTs with valid credentials leave the session owner map as it was', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const before = { owners: g.owners(), sessions: g.broker.stats().persistentSessions }
    const packet = connectPacket({ clientId: '', clean: false, ...g.cred('bob') })
    for (let i = 0; i < 200; i++) assert.deepEqual(await rawExchange(g.broker.port, packet), REFUSED_2)
    assert.deepEqual({ owners: g.owners(), sessions: g.broker.stats().persistentSessions }, before)
  })

  test('session owners leave with their session: after the expiry the map is back to its start, the ids free', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const bob = g.cred('bob')
    const before = g.owners()
    const ids = Array.from({ length: 50 }, () => uid('cc-own'))
    const connectedNow = await Promise.all(
      ids.map((clientId) => connected(g.broker.url, { clientId, clean: false, ...bob })),
    )
    clients.push(...connectedNow)
    assert.equal(g.owners(), before + ids.length, 'one owner entry per persistent session')
    for (const c of connectedNow) await c.endAsync()
    await waitFor(() => g.owners() === before, 10_000, 'the sessions to expire and their owners to go')
    const r = await rawExchange(
      g.broker.port,
      connectPacket({ clientId: ids[0] as string, clean: false, ...g.cred('alice') }),
    )
    assert.deepEqual(
      r,
      { connack: 0, sessionPresent: false, closed: false },
      "bob's expired id is free for alice",
    )
  })
})

describe('embedded broker, broker authentication on, the default session expiry', () => {
  const g = authGateway()

  test("within the expiry a disconnected persistent session stays its user's (CONNACK 2 to another)", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const clientId = uid('cc-stay')
    const bob = g.cred('bob')
    const before = g.owners()
    assert.equal(
      (await rawExchange(g.broker.port, connectPacket({ clientId, clean: false, ...bob }))).connack,
      0,
    )
    assert.equal(g.owners(), before + 1)
    const alice = connectPacket({ clientId, clean: false, ...g.cred('alice') })
    assert.deepEqual(await rawExchange(g.broker.port, alice), REFUSED_2)
    // a clean session of its own user ends it, and the owner entry goes with it
    assert.equal(
      (await rawExchange(g.broker.port, connectPacket({ clientId, clean: true, ...bob }))).connack,
      0,
    )
    await waitFor(() => g.owners() === before, 5000, 'the owner entry to go')
  })

  test(`one user holds at most ${MAX_PERSISTENT_SESSIONS_PER_USER} persistent sessions; others still get theirs`, {
    timeout: 60_000,
  }, async () => {
    const carol = g.cred('carol')
    const ids = Array.from({ length: MAX_PERSISTENT_SESSIONS_PER_USER }, () => uid('cc-cap'))
    for (let i = 0; i < ids.length; i += 50) {
      const rs = await Promise.all(
        ids
          .slice(i, i + 50)
          .map((clientId) => rawExchange(g.broker.port, connectPacket({ clientId, clean: false, ...carol }))),
      )
      for (const r of rs) assert.equal(r.connack, 0)
    }
    const port = g.broker.port
    assert.deepEqual(
      await rawExchange(port, connectPacket({ clientId: uid('cc-cap'), clean: false, ...carol })),
      REFUSED_2,
    )
    const other = await rawExchange(
      port,
      connectPacket({ clientId: uid('cc-cap'), clean: false, ...g.cred('alice') }),
    )
    assert.equal(other.connack, 0, 'another user still gets a persistent session')
    const clean = await rawExchange(port, connectPacket({ clientId: uid('cc-cap'), clean: true, ...carol }))
    assert.equal(clean.connack, 0, 'carol still connects with clean sessions')
  })
})

/** One connect-path case, what MQTT 3.1.1 requires, and what each broker does (they differ where noted). */
interface Case {
  name: string
  packet: RawConnect
  /** A second packet written after CONNACK 0. */
  second?: RawConnect
  embedded: Partial<RawOutcome>
  mosquitto: Partial<RawOutcome>
}
const ACCEPTED = { connack: 0, closed: false }
const CLOSED = { connack: undefined, closed: true }
const CASES: Case[] = [
  {
    name: '[MQTT-3.1.3-8] empty client id, CleanSession 0: CONNACK 2, closed',
    packet: { clientId: '', clean: false },
    embedded: { connack: 2, closed: true },
    mosquitto: { connack: 2, closed: true },
  },
  {
    name: '[MQTT-3.1.3-6] empty client id, CleanSession 1: accepted',
    packet: { clientId: '', clean: true },
    embedded: ACCEPTED,
    mosquitto: ACCEPTED,
  },
  {
    name: '[MQTT-3.1.3-9] MQTT 3.1 (MQIsdp, level 3) with an empty client id: CONNACK 2, closed',
    packet: { protocolName: 'MQIsdp', level: 3, clientId: '' },
    embedded: { connack: 2, closed: true },
    mosquitto: { connack: 2, closed: true },
  },
  {
    name: '[MQTT-3.1.0-2] a second CONNECT closes the connection',
    packet: {},
    second: {},
    embedded: { connack: 0, closed: true },
    mosquitto: { connack: 0, closed: true },
  },
  {
    name: '[MQTT-3.1.2-1] protocol name "MQTX": closed',
    packet: { protocolName: 'MQTX' },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-3.1.2-1] protocol name "MQIsdp" with level 4: CONNACK 1, closed',
    packet: { protocolName: 'MQIsdp', level: 4 },
    embedded: { connack: 1, closed: true },
    mosquitto: { connack: 1, closed: true },
  },
  {
    name: '[MQTT-3.1.2-1] protocol name "MQTT" with level 3: CONNACK 1, closed',
    packet: { protocolName: 'MQTT', level: 3 },
    embedded: { connack: 1, closed: true },
    mosquitto: { connack: 1, closed: true },
  },
  {
    name: '[MQTT-3.1.2-2] protocol level 6: mosquitto answers CONNACK 1, aedes only closes (known, docs/protocol.md)',
    packet: { level: 6 },
    embedded: CLOSED,
    mosquitto: { connack: 1, closed: true },
  },
  {
    name: '[MQTT-3.1.2-3] reserved connect flag set: closed',
    packet: { reserved: true },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-3.1.3-5] client id "a/b#+" (more than 0-9a-zA-Z) is allowed by both',
    packet: { clientId: 'a/b#+' },
    embedded: ACCEPTED,
    mosquitto: ACCEPTED,
  },
  {
    name: '[MQTT-3.1.3-5] client id of 129 characters: ours refuses (CONNACK 2, bound 128), mosquitto allows',
    packet: { clientId: 'x'.repeat(129) },
    embedded: { connack: 2, closed: true },
    mosquitto: ACCEPTED,
  },
  {
    name: '[MQTT-1.5.3-2] client id with U+0000: closed',
    packet: { clientId: Buffer.from([0x61, 0x00, 0x62]) },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-1.5.3-1] client id of ill-formed UTF-8: closed',
    packet: { clientId: Buffer.from([0x61, 0xff, 0xfe]) },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '§1.5.3 client id with the control character U+0001: closed (a server MAY, both do)',
    packet: { clientId: 'a\u0001b' },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '§1.5.3 user name with U+0001: closed',
    packet: { username: 'u\u0001', password: 'p' },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-1.5.3-2] will topic with U+0000: closed',
    packet: { will: { topic: 'w\u0000' } },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '§1.5.3 client id with the non-character U+FFFF: closed',
    packet: { clientId: 'a\uFFFFb' },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-3.1.2-14] will QoS 3: closed',
    packet: { will: { topic: 'w', qos: 3 } },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-4.7.1-1] will topic with a wildcard: closed',
    packet: { will: { topic: 'a/#' } },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-4.7.3-1] empty will topic: closed',
    packet: { will: { topic: '' } },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-3.1.2-22] password flag without user name flag: closed',
    packet: { password: 'p' },
    embedded: CLOSED,
    mosquitto: CLOSED,
  },
  {
    name: '[MQTT-3.1.2-19] user name without password: accepted (no authentication on either)',
    packet: { username: 'u' },
    embedded: ACCEPTED,
    mosquitto: ACCEPTED,
  },
]

describe('the connect path against a real mosquitto 2.0 (same bytes to both brokers)', () => {
  const cleanup = lifo({ after })
  let broker: EmbeddedBroker
  let mosquitto: Mosquitto | undefined

  before(async () => {
    broker = await startBroker({ port: 0 })
    cleanup(() => broker.close())
    mosquitto = await startMosquitto()
    const m = mosquitto
    if (m) cleanup(() => m.close())
  })

  const present = (t: TestContext): boolean => {
    if (mosquitto) return true
    if (process.env.CI === 'true') assert.fail('mosquitto not installed (CI must install it: see .ci/run)')
    t.skip('mosquitto not installed')
    return false
  }
  const pick = (o: RawOutcome) => ({ connack: o.connack, closed: o.closed })

  for (const c of CASES) {
    test(c.name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const packet = connectPacket(c.packet)
      const afterConnack = c.second ? connectPacket(c.second) : undefined
      const ours = await rawExchange(broker.port, packet, { ...(afterConnack ? { afterConnack } : {}) })
      assert.deepEqual(pick(ours), { connack: undefined, ...c.embedded }, 'the embedded broker')
      if (!present(t) || !mosquitto) return
      const theirs = await rawExchange(mosquitto.port, packet, { ...(afterConnack ? { afterConnack } : {}) })
      assert.deepEqual(pick(theirs), { connack: undefined, ...c.mosquitto }, 'mosquitto')
    })
  }
})

describe('with authentication on both: the embedded broker (broker.auth "on") and mosquitto with a password file', () => {
  const g = authGateway()
  const cleanup = lifo({ after })
  let mosquitto: Mosquitto | undefined
  const password = randomBytes(12).toString('hex')

  before(async () => {
    mosquitto = await startMosquitto({ users: { bob: password } })
    const m = mosquitto
    if (m) cleanup(() => m.close())
  })

  test('[MQTT-3.1.3-8] valid credentials, empty client id, CleanSession 0: CONNACK 2 and closed on both', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const ours = await rawExchange(
      g.broker.port,
      connectPacket({ clientId: '', clean: false, ...g.cred('bob') }),
    )
    assert.deepEqual(ours, REFUSED_2, 'the embedded broker')
    if (!mosquitto) {
      if (process.env.CI === 'true') assert.fail('mosquitto not installed (CI must install it: see .ci/run)')
      return t.skip('mosquitto not installed')
    }
    const packet = connectPacket({ clientId: '', clean: false, username: 'bob', password })
    assert.deepEqual(await rawExchange(mosquitto.port, packet), REFUSED_2, 'mosquitto')
    // and both accept the same credentials with a client id
    const ok = connectPacket({ clientId: uid('cc-both'), clean: false, username: 'bob', password })
    assert.equal((await rawExchange(mosquitto.port, ok)).connack, 0, 'mosquitto accepts bob')
  })
})
