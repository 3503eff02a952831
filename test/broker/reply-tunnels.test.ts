/**
 * Reply tunnels under MQTT authentication (docs/security.md). A model that another user calls learns the caller's
 * reply tunnel from the forwarded request ([WP-10]: forwarded with every field, `tunnel` included). It must neither
 * read the answers on it ([WP-33]: a direct request's answer goes only to its tunnel) nor send requests naming it, so
 * that answers of its choosing land there. Also: a persistent session (clean: false) stays its user's. Raw mqtt.js
 * clients against the embedded broker with `broker.auth` "on", on 127.0.0.1 and free ports.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { AedesPublishPacket, Client } from 'aedes'
import type { IClientOptions, MqttClient } from 'mqtt'
import type { Envelope } from '../../src/protocol/index.ts'
import type { Gateway } from '../../src/server.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { mqttConnect, subscribeCode } from '../helpers/processes.ts'

const TEST_TIMEOUT_MS = 30_000

type Credential = { username: string; password: string }

/** A connected client, or the CONNACK return code that refused it. */
const connect = (url: string, cred: Credential, options: IClientOptions = {}) =>
  mqttConnect(url, { ...cred, ...options })

/** Messages a client receives, by topic, as parsed envelopes. */
function inbox(client: MqttClient): Array<{ topic: string; msg: Envelope }> {
  const seen: Array<{ topic: string; msg: Envelope }> = []
  client.on('message', (topic, payload) => {
    try {
      seen.push({ topic, msg: JSON.parse(payload.toString()) as Envelope })
    } catch {
      // not a wire message
    }
  })
  return seen
}

const tunnelName = () => randomBytes(16).toString('hex')
let nextId = 1_100_000 + Math.floor(Math.random() * 1_000_000)

describe('reply tunnels and sessions with MQTT authentication on', () => {
  const cleanup = lifo({ after })
  let gateway: Gateway
  /** The controller's own publishes (client null): topic and envelope. */
  const fromController: Array<{ topic: string; msg: Envelope }> = []
  let alice: MqttClient
  let bob: MqttClient
  let aliceCred: Credential
  let bobCred: Credential
  let aliceInbox: Array<{ topic: string; msg: Envelope }>
  let bobInbox: Array<{ topic: string; msg: Envelope }>
  let aliceTunnel: string
  const url = () => gateway.brokerUrl
  const stats = () => {
    const s = gateway.broker?.auth?.stats()
    assert.ok(s)
    return s
  }

  async function connected(cred: Credential, options: IClientOptions = {}): Promise<MqttClient> {
    const r = await connect(url(), cred, options)
    assert.ok('client' in r, `connection as ${cred.username} refused with ${'refused' in r ? r.refused : ''}`)
    cleanup(() => r.client.end(true))
    return r.client
  }

  /** Bob calls alice's model `/alice` with `tunnel` as its reply tunnel; resolves with what alice was forwarded. */
  async function bobCallsAlice(tunnel: string): Promise<Envelope> {
    const id = nextId++
    await bob.publishAsync(
      '/controller',
      JSON.stringify({ id, method: 'get', resource: '/alice', tunnel, data: {} }),
      { qos: 1 },
    )
    await waitFor(
      () => aliceInbox.some((m) => m.topic === aliceTunnel && m.msg.id === id),
      5000,
      'the request forwarded to alice',
    )
    const forwarded = aliceInbox.find((m) => m.topic === aliceTunnel && m.msg.id === id)
    assert.ok(forwarded)
    return forwarded.msg
  }

  before(async () => {
    gateway = await startTestGateway({ broker: { auth: 'on' } })
    cleanup(() => gateway.close())
    const store = gateway.brokerCredentials
    assert.ok(store && gateway.broker?.auth, 'broker.auth "on" installs authentication')
    gateway.broker.aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      if (client) return
      try {
        fromController.push({ topic: packet.topic, msg: JSON.parse(packet.payload.toString()) as Envelope })
      } catch {
        // presence and other non-wire payloads
      }
    })
    aliceCred = store.create('alice')
    bobCred = store.create('bob')
    alice = await connected(aliceCred)
    bob = await connected(bobCred)
    aliceInbox = inbox(alice)
    bobInbox = inbox(bob)
    // alice registers model `alice` on /alice and answers every request forwarded to her
    const reply = tunnelName()
    assert.equal(await subscribeCode(alice, reply), 1)
    const regId = nextId++
    await alice.publishAsync(
      '/controller',
      JSON.stringify({
        id: regId,
        method: 'post',
        resource: '/controller/registration/alice',
        tunnel: reply,
        data: {
          name: 'alice',
          description: 'x',
          role: 'model',
          ttl: 5,
          resources: ['/alice'],
          clientId: alice.options.clientId,
        },
      }),
      { qos: 1 },
    )
    await waitFor(() => aliceInbox.some((m) => m.msg.id === regId), 5000, 'the registration answer')
    const answer = aliceInbox.find((m) => m.msg.id === regId)?.msg
    assert.equal(answer?.code, 200)
    aliceTunnel = (answer?.data as { tunnel: string } | undefined)?.tunnel ?? ''
    assert.equal(await subscribeCode(alice, aliceTunnel), 1)
    alice.on('message', (topic, payload) => {
      if (topic !== aliceTunnel) return
      const m = JSON.parse(payload.toString()) as Envelope
      if (m.code !== undefined) return
      void alice.publishAsync(
        '/controller',
        JSON.stringify({
          id: m.id,
          code: 200,
          method: m.method,
          resource: m.resource,
          sign: ['alice'],
          data: { from: 'alice' },
        }),
        { qos: 1 },
      )
    })
  })

  test("[WP-10][WP-33] a called model may not subscribe to its caller's reply tunnel (SUBACK 0x80) while the caller holds it", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const bobReply = tunnelName()
    assert.equal(await subscribeCode(bob, bobReply), 1)
    const forwarded = await bobCallsAlice(bobReply)
    assert.equal(forwarded.tunnel, bobReply, '[WP-10] the forwarded request carries the reply tunnel')
    const denied = stats().subscriptionsDenied
    assert.equal(await subscribeCode(alice, bobReply), 0x80)
    assert.equal(stats().subscriptionsDenied, denied + 1)
    assert.equal(gateway.broker?.auth?.replyTunnelOwner(bobReply), 'bob')
    // another client of the same user may hold it too
    const bob2 = await connected(bobCred)
    assert.equal(await subscribeCode(bob2, bobReply), 1)
    // bob's answer reaches bob alone
    const before = aliceInbox.length
    const id = nextId++
    await bob.publishAsync(
      '/controller',
      JSON.stringify({
        id,
        method: 'get',
        resource: '/controller/resource/dependency/alice',
        tunnel: bobReply,
        data: {},
      }),
      { qos: 1 },
    )
    await waitFor(() => bobInbox.some((m) => m.topic === bobReply && m.msg.id === id), 5000, "bob's answer")
    assert.ok(!aliceInbox.slice(before).some((m) => m.topic === bobReply))
  })

  test('a reply tunnel is released when no client of its user holds it any more, then another user may take it', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const topic = tunnelName()
    const bob2 = await connected(bobCred)
    assert.equal(await subscribeCode(bob, topic), 1)
    assert.equal(await subscribeCode(bob2, topic), 1)
    assert.equal(await subscribeCode(alice, topic), 0x80)
    await bob.unsubscribeAsync(topic)
    assert.equal(gateway.broker?.auth?.replyTunnelOwner(topic), 'bob', 'bob2 still holds it')
    assert.equal(await subscribeCode(alice, topic), 0x80)
    bob2.end(true)
    await waitFor(() => gateway.broker?.auth?.replyTunnelOwner(topic) === undefined, 5000, 'the release')
    assert.equal(await subscribeCode(alice, topic), 1)
    assert.equal(gateway.broker?.auth?.replyTunnelOwner(topic), 'alice')
    await alice.unsubscribeAsync(topic)
    await waitFor(() => gateway.broker?.auth?.replyTunnelOwner(topic) === undefined, 5000, "alice's release")
  })

  test("[WP-33] a request naming another user's reply tunnel is dropped: no answer of the sender's choosing lands there", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const bobReply = tunnelName()
    assert.equal(await subscribeCode(bob, bobReply), 1)
    await bobCallsAlice(bobReply)
    const dropped = gateway.controller.core.stats().dropped
    const forgedId = nextId++
    await alice.publishAsync(
      '/controller',
      JSON.stringify({ id: forgedId, method: 'get', resource: '/alice', tunnel: bobReply, data: {} }),
      { qos: 1 },
    )
    await waitFor(() => gateway.controller.core.stats().dropped > dropped, 5000, 'the drop')
    // the drop is decided on arrival: nothing for this id was forwarded to alice or answered into bob's tunnel
    assert.ok(!fromController.some((m) => m.msg.id === forgedId))
    assert.ok(!bobInbox.some((m) => m.msg.id === forgedId))
    // the same request with her own reply tunnel is served
    const own = tunnelName()
    assert.equal(await subscribeCode(alice, own), 1)
    const ownId = nextId++
    await alice.publishAsync(
      '/controller',
      JSON.stringify({ id: ownId, method: 'get', resource: '/alice', tunnel: own, data: {} }),
      { qos: 1 },
    )
    await waitFor(() => aliceInbox.some((m) => m.topic === own && m.msg.id === ownId), 5000, 'her own answer')
    assert.equal(aliceInbox.find((m) => m.topic === own && m.msg.id === ownId)?.msg.code, 200)
  })

  test("another user may not resume a user's persistent session (clean: false): CONNACK 2", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const clientId = `rt-session-${randomBytes(6).toString('hex')}`
    const bobReply = tunnelName()
    const first = await connected(bobCred, { clientId, clean: false })
    assert.equal(await subscribeCode(first, bobReply), 1)
    first.end(true)
    await waitFor(() => gateway.broker?.auth?.userOf(clientId) === undefined, 5000, 'the disconnect')
    const refused = stats().sessionsRefused
    const taken = await connect(url(), aliceCred, { clientId, clean: false })
    if ('client' in taken) taken.client.end(true)
    assert.deepEqual(taken, { refused: 2 })
    assert.equal(stats().sessionsRefused, refused + 1)
    // a clean session under that id wipes the stored one: refused to another user as well
    assert.deepEqual(await connect(url(), aliceCred, { clientId, clean: true }), { refused: 2 })
    // its own user resumes it
    const again = await connected(bobCred, { clientId, clean: false })
    assert.ok(again.connected)
  })

  test('the embedded broker speaks MQTT 3.1.1 only: a CONNECT asking for MQTT 5 gets CONNACK 1 (docs/security.md)', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    assert.deepEqual(await connect(url(), bobCred, { protocolVersion: 5 }), { refused: 1 })
    assert.ok((await connected(bobCred, { protocolVersion: 4 })).connected)
  })
})
