/**
 * The embedded broker with MQTT authentication and the ACL on (docs/security.md): a real example bundle process with
 * issued credentials, raw mqtt.js clients for the refusals, all on 127.0.0.1 and free ports. `broker.auth` is forced
 * to "on" (on loopback, "auto" would leave it off).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import type { AedesPublishPacket, Client } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import type { Envelope } from '../../src/protocol/index.ts'
import type { Gateway } from '../../src/server.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import {
  copyExampleDir,
  type ExampleProcess,
  mqttCall,
  mqttConnect,
  spawnExample,
  subscribeCode,
  within,
} from '../helpers/processes.ts'

const TEST_TIMEOUT_MS = 30_000

/** A client that connected, or the CONNACK return code that refused it. */
const connect = (url: string, auth: { username?: string; password?: string }) => mqttConnect(url, auth)

async function connected(url: string, username: string, password: string): Promise<MqttClient> {
  const r = await connect(url, { username, password })
  assert.ok('client' in r, `connection as ${username} refused with ${'refused' in r ? r.refused : ''}`)
  return r.client
}

/** One direct request from `client` (which must be allowed to subscribe `tunnel`); resolves with the answer. */
async function call(client: MqttClient, request: Envelope): Promise<Envelope> {
  const tunnel = randomBytes(16).toString('hex')
  const granted = await client.subscribeAsync(tunnel, { qos: 1 })
  assert.equal(granted[0]?.qos, 1, 'a reply tunnel of our own choosing is granted')
  const answer = new Promise<Envelope>((resolve) => {
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic !== tunnel) return
      const msg = JSON.parse(payload.toString()) as Envelope
      if (msg.id !== request.id) return
      client.removeListener('message', onMessage)
      resolve(msg)
    }
    client.on('message', onMessage)
  })
  await client.publishAsync('/controller', JSON.stringify({ ...request, tunnel }), { qos: 1 })
  return within(answer, 5000, `the answer to ${request.method} ${request.resource}`)
}

let nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000)

describe('embedded broker with MQTT authentication on', () => {
  const cleanup = lifo({ after })
  let gateway: Gateway
  let dir: string
  let example: ExampleProcess
  let exampleUser: { username: string; password: string }
  /** Publishes from clients (never the controller's own) that reached aedes, by topic. */
  const delivered: Array<{ topic: string; clientId: string }> = []
  /** The controller's own publishes (client null), with their payload. */
  const fromController: Array<{ topic: string; payload: string }> = []
  const url = () => gateway.brokerUrl
  const component = (name: string) => gateway.controller.core.components().find((c) => c.name === name)

  before(async () => {
    gateway = await startTestGateway({ broker: { auth: 'on' } })
    cleanup(() => gateway.close())
    assert.ok(gateway.broker?.auth, 'broker.auth "on" installs authentication')
    assert.ok(gateway.brokerCredentials)
    gateway.broker.aedes.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
      if (client) delivered.push({ topic: packet.topic, clientId: client.id })
      else fromController.push({ topic: packet.topic, payload: packet.payload.toString() })
    })
    dir = await copyExampleDir()
    cleanup(() => rm(dir, { recursive: true, force: true }))
    const created = gateway.brokerCredentials.create('example')
    exampleUser = { username: created.username, password: created.password }
    example = spawnExample({
      brokerUrl: url(),
      dir,
      env: { BROKER_USERNAME: exampleUser.username, BROKER_PASSWORD: exampleUser.password },
    })
    cleanup(() => example.stop())
    await example.ready
  })

  /** GET /example answers 200 both in-process and over MQTT from an authenticated caller. */
  async function exampleWorks(): Promise<void> {
    const local = await gateway.controller.core.request({ method: 'get', resource: '/example' })
    assert.equal(local.message.code, 200)
    assert.deepEqual(local.message.data, { key: 'value' })
    const caller = gateway.brokerCredentials?.create('caller')
    assert.ok(caller)
    const remote = await mqttCall(
      url().replace('mqtt://', `mqtt://${caller.username}:${caller.password}@`),
      'get',
      '/example',
      undefined,
      { timeoutMs: 5000 },
    )
    assert.equal(remote.code, 200)
    assert.deepEqual(remote.data, { key: 'value' })
    assert.equal(component('example')?.online, true)
  }

  test('the example bundle with issued credentials (BROKER_USERNAME/PASSWORD) registers and answers GET /example', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    t.diagnostic(`spawn to "Register successfully": ${Date.now() - example.spawnedAt} ms`)
    assert.equal(component('example')?.role, 'model')
    await exampleWorks()
    const http = await gateway.http.inject({
      method: 'GET',
      url: '/api/v1/example',
      headers: { 'mx-api-token': await rootToken(gateway) },
    })
    assert.equal(http.statusCode, 200)
    assert.deepEqual(http.json(), { key: 'value' })
  })

  test("no credentials: CONNACK 5 (not authorized); a wrong password or a user name that is not the credential's: 4", {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const before = gateway.broker?.auth?.stats().connectsRefused ?? 0
    assert.deepEqual(await connect(url(), {}), { refused: 5 })
    assert.deepEqual(await connect(url(), { username: 'example' }), { refused: 5 })
    const wrong = `bgm_${randomBytes(32).toString('base64url')}`
    assert.deepEqual(await connect(url(), { username: 'example', password: wrong }), { refused: 4 })
    assert.deepEqual(await connect(url(), { username: 'example', password: 'secret' }), { refused: 4 })
    // the example's real password under another user name
    assert.deepEqual(await connect(url(), { username: 'other', password: exampleUser.password }), {
      refused: 4,
    })
    assert.equal(gateway.broker?.auth?.stats().connectsRefused, before + 5)
    await exampleWorks()
  })

  test('a revoked credential is refused at its next CONNECT, and a live connection with it is cut', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const store = gateway.brokerCredentials
    assert.ok(store)
    const cred = store.create('short-lived')
    const live = await connected(url(), cred.username, cred.password)
    const closed = new Promise<number>((resolve) => live.once('close', () => resolve(Date.now())))
    assert.equal(store.revoke('short-lived').length, 1)
    const revokedAt = Date.now()
    assert.deepEqual(await connect(url(), { username: cred.username, password: cred.password }), {
      refused: 4,
    })
    const cut = await within(closed, 10_000, 'the revoked client to be disconnected')
    t.diagnostic(`revocation to disconnect of the live client: ${cut - revokedAt} ms (checked every 5 s)`)
    live.end(true)
    await exampleWorks()
  })

  describe('a client authenticated as bundle "intruder"', () => {
    let intruder: MqttClient
    let intruderCred: { username: string; password: string }
    const register = (name: string, resources: string[], role = 'model') =>
      call(intruder, {
        id: nextId++,
        method: 'post',
        resource: `/controller/registration/${name}`,
        data: { name, description: 'intruder', role, ttl: 5, resources },
      })

    before(async () => {
      const c = gateway.brokerCredentials?.create('intruder')
      assert.ok(c)
      intruderCred = c
      intruder = await connected(url(), c.username, c.password)
      cleanup(() => intruder.endAsync())
    })

    test('cannot register another name, nor deregister the example: 403 with a clear message', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const before = gateway.broker?.auth?.stats().registrationsRefused ?? 0
      const other = await register('other', ['/other'])
      assert.equal(other.code, 403)
      assert.equal(
        (other.data as { message: string }).message,
        "may not register 'other': the connection is authenticated as 'intruder'",
      )
      const taken = await register('example', ['/example2'])
      assert.equal(taken.code, 403)
      assert.match((taken.data as { message: string }).message, /may not register 'example'/)
      const del = await call(intruder, {
        id: nextId++,
        method: 'delete',
        resource: '/controller/registration/example',
      })
      assert.equal(del.code, 403)
      assert.match((del.data as { message: string }).message, /may not deregister 'example'/)
      assert.equal(component('other'), undefined)
      assert.equal(gateway.broker?.auth?.stats().registrationsRefused, before + 3)
      await exampleWorks()
    })

    test("its own name cannot take the example's resource (409, §8.2) [WP-39] nor a gateway resource (409) [HA-11]", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const owned = await register('intruder', ['/example'])
      assert.equal(owned.code, 409)
      assert.equal(
        (owned.data as { message: string }).message,
        "resource '/example' is already provided by 'example'",
      )
      const reserved = await register('intruder', ['/tokens'])
      assert.equal(reserved.code, 409)
      assert.equal(
        (reserved.data as { message: string }).message,
        "resource '/tokens' is already provided by 'gateway'",
      )
      assert.equal(component('intruder'), undefined)
      await exampleWorks()
    })

    test("cannot subscribe to the example's tunnel, to #, +, /controller, $SYS or a tunnel nobody holds yet", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const tunnel = component('example')?.tunnel
      assert.ok(tunnel)
      const before = gateway.broker?.auth?.stats().subscriptionsDenied ?? 0
      const topics = [
        tunnel,
        '#',
        '+',
        '/controller',
        '/controller/#',
        '$SYS/#',
        '/controller/presence/+',
        '1234567',
      ]
      for (const topic of topics) {
        assert.equal(await subscribeCode(intruder, topic), 128, `SUBACK for ${topic}`)
      }
      assert.equal(gateway.broker?.auth?.stats().subscriptionsDenied, before + topics.length)
      assert.ok(intruder.connected, 'a refused subscription leaves the connection open')
      // what it may subscribe: the controller's presence announcements
      assert.equal(await subscribeCode(intruder, '/controller/presence'), 1)
      await exampleWorks()
    })

    test("publishing to the example's tunnel closes the connection and reaches nobody", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const tunnel = component('example')?.tunnel
      assert.ok(tunnel)
      const forger = await connected(url(), intruderCred.username, intruderCred.password)
      const closed = new Promise<void>((resolve) => forger.once('close', () => resolve()))
      const before = gateway.broker?.auth?.stats().publishesDenied ?? 0
      const forged = { id: nextId++, method: 'put', resource: '/example', data: { key: 'forged' } }
      forger.publish(tunnel, JSON.stringify(forged), { qos: 0 })
      await within(closed, 5000, 'the broker to close the forging connection')
      forger.end(true)
      assert.equal(gateway.broker?.auth?.stats().publishesDenied, before + 1)
      assert.equal(
        delivered.some((d) => d.topic === tunnel),
        false,
        'no client publish on the tunnel passed the broker',
      )
      // other forbidden topics too: another client's presence (a fake death notice) and a made-up topic
      for (const topic of ['/controller/presence/bg-someone-else', 'random/topic']) {
        const c = await connected(url(), intruderCred.username, intruderCred.password)
        const gone = new Promise<void>((resolve) => c.once('close', () => resolve()))
        c.publish(topic, JSON.stringify({ clientId: 'bg-someone-else', state: 'offline' }), { qos: 0 })
        await within(gone, 5000, `the broker to close the connection publishing on ${topic}`)
        c.end(true)
      }
      assert.equal(gateway.broker?.auth?.stats().publishesDenied, before + 3)
      await exampleWorks()
      const local = await gateway.controller.core.request({ method: 'get', resource: '/example' })
      assert.deepEqual(local.message.data, { key: 'value' }, 'the forged PUT never arrived')
    })

    test("cannot answer a request meant for another component, nor aim a request's answer at its tunnel", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const core = gateway.controller.core
      // a second, well-behaved bundle that answers only when told to
      const cred = gateway.brokerCredentials?.create('slowpoke')
      assert.ok(cred)
      const slowpoke = await connected(url(), cred.username, cred.password)
      cleanup(() => slowpoke.endAsync())
      const reg = await call(slowpoke, {
        id: nextId++,
        method: 'post',
        resource: '/controller/registration/slowpoke',
        data: { name: 'slowpoke', description: 'slow', role: 'model', ttl: 10, resources: ['/slow'] },
      })
      assert.equal(reg.code, 200)
      const slowTunnel = (reg.data as { tunnel: string }).tunnel
      assert.equal(await subscribeCode(slowpoke, slowTunnel), 1)
      const received = new Promise<Envelope>((resolve) => {
        slowpoke.on('message', (topic, payload) => {
          if (topic === slowTunnel) resolve(JSON.parse(payload.toString()) as Envelope)
        })
      })
      const pending = core.request({ method: 'get', resource: '/slow' })
      const request = await within(received, 5000, 'the request on the slowpoke tunnel')

      // the intruder answers first, signing as slowpoke: dropped
      let dropped = core.stats().dropped
      const forged = { id: request.id, code: 200, method: 'GET', resource: '/slow', sign: ['slowpoke'] }
      await intruder.publishAsync('/controller', JSON.stringify({ ...forged, data: { forged: true } }), {
        qos: 1,
      })
      await waitFor(() => core.stats().dropped === dropped + 1, 5000, 'the forged response to be dropped')
      await slowpoke.publishAsync('/controller', JSON.stringify({ ...forged, data: { real: true } }), {
        qos: 1,
      })
      const outcome = await within(pending, 5000, 'the answer to GET /slow')
      assert.equal(outcome.message.code, 200)
      assert.deepEqual(outcome.message.data, { real: true })

      // a request whose reply tunnel is the example's tunnel: dropped, nothing reaches that tunnel
      const exampleTunnel = component('example')?.tunnel
      assert.ok(exampleTunnel)
      dropped = core.stats().dropped
      const id = nextId++
      await intruder.publishAsync(
        '/controller',
        JSON.stringify({ id, method: 'get', resource: '/nothing-here', tunnel: exampleTunnel }),
        { qos: 1 },
      )
      await waitFor(() => core.stats().dropped === dropped + 1, 5000, 'the request to be dropped')
      assert.equal(
        fromController.some(
          (p) => p.topic === exampleTunnel && (JSON.parse(p.payload) as Envelope).id === id,
        ),
        false,
        "no answer was injected into the example's tunnel",
      )
      // its own reply tunnels still work (call() uses one)
      const own = await call(intruder, { id: nextId++, method: 'get', resource: '/nothing-here' })
      assert.equal(own.code, 404)
      await exampleWorks()
    })

    test("cannot take over the example's client id (CONNACK 2), nor a profile name that is another bundle's name", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const clientId = component('example')?.clientId
      assert.ok(clientId)
      const takeover = mqtt.connect(url(), {
        clientId,
        reconnectPeriod: 0,
        protocolVersion: 4,
        username: intruderCred.username,
        password: intruderCred.password,
      })
      const code = await within(
        new Promise<number>((resolve) => {
          takeover.once('connect', () => resolve(0))
          takeover.once('error', (err: Error & { code?: number }) => resolve(err.code ?? -1))
        }),
        5000,
        'CONNACK',
      )
      takeover.end(true)
      assert.equal(code, 2, 'identifier rejected')
      assert.equal(component('example')?.online, true)

      // "cam" may register "cam-view" only while no bundle of that name has credentials of its own
      const cam = gateway.brokerCredentials?.create('cam')
      const camView = gateway.brokerCredentials?.create('cam-view')
      assert.ok(cam && camView)
      const camClient = await connected(url(), cam.username, cam.password)
      cleanup(() => camClient.endAsync())
      const squat = await call(camClient, {
        id: nextId++,
        method: 'post',
        resource: '/controller/registration/cam-view',
        data: { name: 'cam-view', description: 'squat', role: 'view', ttl: 5, resources: ['/example'] },
      })
      assert.equal(squat.code, 403)
      const camViewClient = await connected(url(), camView.username, camView.password)
      cleanup(() => camViewClient.endAsync())
      const own = await call(camViewClient, {
        id: nextId++,
        method: 'post',
        resource: '/controller/registration/cam-view',
        data: { name: 'cam-view', description: 'own', role: 'view', ttl: 5, resources: ['/example'] },
      })
      assert.equal(own.code, 200)
      const tunnel = (own.data as { tunnel: string }).tunnel
      assert.equal(await subscribeCode(camClient, tunnel), 128, "cam cannot read cam-view's tunnel")
      assert.equal(await subscribeCode(camViewClient, tunnel), 1)
      await exampleWorks()
    })

    test('its own registrations work: name, <name>-view, its tunnel subscribed and requests delivered', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const ok = await register('intruder', ['/intruder'])
      assert.equal(ok.code, 200)
      const tunnel = (ok.data as { tunnel: string }).tunnel
      const view = await register('intruder-view', ['/example'], 'view')
      assert.equal(view.code, 200)
      assert.equal(await subscribeCode(intruder, tunnel), 1, 'its own tunnel is granted')
      const got = new Promise<Envelope>((resolve) => {
        intruder.on('message', (topic, payload) => {
          if (topic === tunnel) resolve(JSON.parse(payload.toString()) as Envelope)
        })
      })
      await waitFor(() => component('intruder')?.online === true, 2000, 'intruder online')
      const pending = gateway.controller.core.request({ method: 'get', resource: '/intruder' })
      const request = await within(got, 5000, 'the request on its own tunnel')
      assert.equal(request.resource, '/intruder')
      const response = { id: request.id, code: 200, method: 'GET', resource: '/intruder', data: { me: 1 } }
      await intruder.publishAsync('/controller', JSON.stringify({ ...response, sign: ['intruder'] }), {
        qos: 1,
      })
      const answered = await within(pending, 5000, 'the in-process answer')
      assert.equal(answered.message.code, 200)
      assert.deepEqual(answered.message.data, { me: 1 })
      await exampleWorks()
    })
  })
})

async function rootToken(gateway: Gateway): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  assert.ok(gateway.tokenFile)
  return (await readFile(gateway.tokenFile, 'utf8')).trim()
}
