/**
 * Red team, issue 12 part 3 (the MQTT, controller and push side): one client registered 5,300 components in 4 s
 * (RSS 108 → 285 MB, openapi.json 32 MB), one read token could hold every push slot so that an admin's stream got
 * 503, and retained messages were stored on `/controller` and `/controller/presence` (a retained fake presence was
 * replayed to every bundle at every subscription). Bounds of wire-protocol.md §8.9 [WP-63], push slots
 * (docs/config.md `events.*`), retained messages on control topics (§2.2 [WP-64]).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { openSse, type SseClient } from '../helpers/events.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { mqttConnect, startMosquitto, within } from '../helpers/processes.ts'
import { dataOf, RawBundle, type TestGateway } from '../helpers/raw-bundle.ts'

const TIMEOUT = { timeout: 60_000 }
const REG = '/controller/registration'
const FAST = { registrationsPerSec: 100_000, registrationBurst: 100_000 }

/** Fires `count` registration POSTs from one client at once (distinct names), and collects the answers. */
async function flood(b: RawBundle, prefix: string, count: number, resources = 1): Promise<number[]> {
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      b.call('post', `${REG}/${prefix}${i}`, {
        description: 'flood',
        role: 'model',
        ttl: 5,
        resources: Array.from({ length: resources }, (_, k) => `/${prefix}${i}/r${k}`),
      }),
    ),
  )
  return answers.map((a) => a.code as number)
}

const count = (codes: number[], code: number) => codes.filter((c) => c === code).length
const bundlesOf = (gw: TestGateway, prefix: string) =>
  gw.controller.core.components().filter((c) => c.name.startsWith(prefix))

describe('registration bounds (§8.9) [WP-63]', () => {
  test(
    'one client cannot register past its rate (defaults: burst 20, 5/s): the rest is answered 429 with the reason',
    TIMEOUT,
    async (t) => {
      const defer = lifo(t)
      const gw = await startTestGateway()
      defer(() => gw.close())
      const b = await RawBundle.connect(gw, 'rate')
      defer(() => b.close())
      const started = Date.now()
      const codes = await flood(b, 'rate', 30)
      const refills = Math.ceil(((Date.now() - started) / 1000) * 5) + 1
      t.diagnostic(`accepted ${count(codes, 200)} of 30 (burst 20, ${refills} refills at most)`)
      assert.ok(count(codes, 200) <= 20 + refills, `accepted ${count(codes, 200)} of 30`)
      assert.equal(count(codes, 200) + count(codes, 429), 30)
      const refused = b.received.map((r) => r.msg).find((m) => m.code === 429)
      assert.ok(refused, 'some are refused')
      assert.equal(dataOf(refused).message, 'too many registrations')
      assert.match(String(dataOf(refused).log), /at most 5 per second \(burst 20\); retry in \d+ s/)
      const other = await RawBundle.connect(gw, 'other')
      defer(() => other.close())
      assert.equal(
        (await other.register('other', 'model', ['/other'])).code,
        200,
        'another client is not affected',
      )
    },
  )

  test(
    'one client holds at most controller.maxComponentsPerClient (32) components; a deregistration frees one',
    TIMEOUT,
    async (t) => {
      const defer = lifo(t)
      const gw = await startTestGateway({ controller: FAST })
      defer(() => gw.close())
      const b = await RawBundle.connect(gw, 'cap')
      defer(() => b.close())
      const codes = await flood(b, 'cap', 40)
      assert.equal(count(codes, 200), 32)
      assert.equal(count(codes, 429), 8)
      assert.equal(bundlesOf(gw, 'cap').length, 32)
      const refused = b.received.map((r) => r.msg).find((m) => m.code === 429)
      assert.match(String(refused && dataOf(refused).log), /too many components from this client: at most 32/)
      const del = await b.call('delete', `${REG}/cap0`)
      assert.equal(del.code, 200)
      assert.equal((await b.register('capnew', 'model', ['/capnew'])).code, 200)
    },
  )

  test('controller.maxComponents bounds every client together (503 registry full)', TIMEOUT, async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway({ controller: { ...FAST, maxComponents: 10 } })
    defer(() => gw.close())
    const a = await RawBundle.connect(gw, 'ta')
    const b = await RawBundle.connect(gw, 'tb')
    defer(() => a.close())
    defer(() => b.close())
    const codes = [...(await flood(a, 'ta', 6)), ...(await flood(b, 'tb', 6))]
    assert.equal(count(codes, 200), 10)
    assert.equal(count(codes, 503), 2)
    const full = b.received.map((r) => r.msg).find((m) => m.code === 503)
    assert.equal(full && dataOf(full).message, 'registry full')
  })

  test(
    'the 5,300-components attack with the defaults: the registry and openapi.json stay bounded',
    TIMEOUT,
    async (t) => {
      const defer = lifo(t)
      const gw = await startTestGateway()
      defer(() => gw.close())
      const openapi = async () =>
        (await gw.http.inject({ url: '/api/v1/openapi.json', headers: { 'mx-api-token': gw.rootToken } }))
          .body
      const before = (await openapi()).length
      const b = await RawBundle.connect(gw, 'spam')
      defer(() => b.close())
      // bounded: 400 registrations of 8 resources each, as fast as one client can send them
      const codes = await flood(b, 'spam', 400, 8)
      const held = bundlesOf(gw, 'spam').length
      t.diagnostic(`accepted ${count(codes, 200)}, refused 429: ${count(codes, 429)}; registry holds ${held}`)
      assert.ok(held <= 32, `at most 32 components of one client, got ${held}`)
      const paths = Object.keys((JSON.parse(await openapi()) as { paths: object }).paths)
      assert.ok(paths.filter((p) => p.startsWith('/spam')).length <= 32 * 8)
      t.diagnostic(`openapi.json ${before} → ${(await openapi()).length} bytes, ${paths.length} paths`)
    },
  )

  test(
    'resources per registration are bounded (controller.maxResourcesPerComponent, 400)',
    TIMEOUT,
    async (t) => {
      const defer = lifo(t)
      const gw = await startTestGateway({ controller: { maxResourcesPerComponent: 4 } })
      defer(() => gw.close())
      const b = await RawBundle.connect(gw, 'wide')
      defer(() => b.close())
      const reply = await b.register('wide', 'model', ['/w/1', '/w/2', '/w/3', '/w/4', '/w/5'])
      assert.equal(reply.code, 400)
      assert.match(String(dataOf(reply).log), /lists 5 entries, at most 4/)
    },
  )
})

describe('push slots per token (events.maxClientsPerToken, events.adminReserve)', () => {
  async function readToken(gw: TestGateway): Promise<string> {
    const res = await gw.http.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
      payload: JSON.stringify({ description: 'reader', scope: 'read' }),
    })
    assert.equal(res.statusCode, 201)
    return (res.json() as { token: string }).token
  }
  const url = (gw: TestGateway) => `${gw.httpUrl}/api/v1/events?resource=/a`

  test(
    "read tokens cannot take the admins' reserve (events.adminReserve 10): an admin's stream still opens",
    TIMEOUT,
    async (t) => {
      const defer = lifo(t)
      const gw = await startTestGateway({ events: { maxClients: 20 } })
      defer(() => gw.close())
      const tokens = [await readToken(gw), await readToken(gw), await readToken(gw)]
      const streams: SseClient[] = []
      defer(() => {
        for (const s of streams) s.close()
      })
      // three read tokens try to take all 20 slots
      for (const token of tokens)
        for (let i = 0; i < 7; i++) streams.push(await openSse(url(gw), { 'mx-api-token': token }))
      assert.equal(streams.filter((s) => s.status === 200).length, 10, '20 slots minus the reserve of 10')
      const refused = streams.find((s) => s.status === 503)
      assert.equal(JSON.parse(refused?.body ?? '{}').code, 'GW_ERR_EVENTS_TOO_MANY_CLIENTS')
      const admin = await openSse(url(gw), { 'mx-api-token': gw.rootToken })
      defer(() => admin.close())
      assert.equal(admin.status, 200, "the admin's stream opens")
    },
  )

  test(
    'one read token holds at most events.maxClientsPerToken (10) streams: 429; another token still gets one',
    TIMEOUT,
    async (t) => {
      const defer = lifo(t)
      const gw = await startTestGateway()
      defer(() => gw.close())
      const token = await readToken(gw)
      const streams: SseClient[] = []
      defer(() => {
        for (const s of streams) s.close()
      })
      for (let i = 0; i < 11; i++) streams.push(await openSse(url(gw), { 'mx-api-token': token }))
      assert.equal(streams.filter((s) => s.status === 200).length, 10)
      assert.equal(streams[10]?.status, 429)
      assert.equal(JSON.parse(streams[10]?.body ?? '{}').code, 'GW_ERR_EVENTS_TOKEN_CLIENTS')
      const other = await openSse(url(gw), { 'mx-api-token': await readToken(gw) })
      defer(() => other.close())
      assert.equal(other.status, 200)
    },
  )
})

/** Every retained message the embedded broker stores. */
async function retained(gw: TestGateway): Promise<string[]> {
  const out: string[] = []
  const aedes = gw.broker?.aedes as unknown as {
    persistence: { createRetainedStream(p: string): AsyncIterable<{ topic: string }> }
  }
  for await (const p of aedes.persistence.createRetainedStream('#')) out.push(p.topic)
  return out.sort()
}

describe('retained messages on control topics (§2.2) [WP-64]', () => {
  for (const auth of ['off', 'on'] as const) {
    test(
      `broker auth ${auth}: retained publishes on control topics are delivered but never stored; a fake presence is not replayed`,
      TIMEOUT,
      async (t) => {
        const defer = lifo(t)
        const gw = await startTestGateway({ broker: { auth } })
        defer(() => gw.close())
        let creds = {}
        if (gw.brokerCredentials) {
          const c = gw.brokerCredentials.create('retainer')
          creds = { username: c.username, password: c.password }
        }
        const clientId = `retainer-${randomBytes(4).toString('hex')}`
        const r = await mqttConnect(gw.brokerUrl, { ...creds, clientId })
        assert.ok('client' in r)
        const client = r.client
        defer(() => client.endAsync(true))
        const fake = JSON.stringify({ state: 'online', instance: 'ffffffffffffffff' })
        const publishes: Array<[string, string]> = [
          ['/controller', JSON.stringify({ id: 5, method: 'get', resource: '/x', tunnel: 'ab'.repeat(16) })],
          [`/controller/presence/${clientId}`, JSON.stringify({ state: 'subscribed', tunnel: '1' })],
        ]
        if (auth === 'off') {
          publishes.push(
            ['/controller/presence', fake],
            ['123456789', '{}'],
            ['cd'.repeat(16), '{}'],
            ['sensors/x', '1'],
          )
        }
        for (const [topic, payload] of publishes)
          await client.publishAsync(topic, payload, { qos: 1, retain: true })
        assert.ok(client.connected, 'the publisher is not disconnected: the flag is cleared, not refused')
        assert.deepEqual(
          await retained(gw),
          auth === 'off' ? ['sensors/x'] : [],
          'nothing stored on a control topic',
        )
        assert.equal(gw.broker?.retainGuard.stats().retainCleared, auth === 'off' ? 5 : 2)
        // a bundle subscribing now (or after every reconnect) gets no stored presence
        const late = await mqttConnect(
          gw.brokerUrl,
          gw.brokerCredentials ? { ...creds, clientId: `${clientId}-b` } : {},
        )
        assert.ok('client' in late)
        defer(() => late.client.endAsync(true))
        const got: string[] = []
        late.client.on('message', (topic, payload) => got.push(`${topic} ${payload}`))
        await late.client.subscribeAsync('/controller/presence', { qos: 1 })
        await new Promise((res) => setTimeout(res, 300))
        assert.deepEqual(got, [])
      },
    )
  }

  test(
    'the controller ignores a retained registration stored on an external broker (mosquitto)',
    TIMEOUT,
    async (t) => {
      const mosquitto = await startMosquitto()
      if (!mosquitto) {
        t.skip('mosquitto is not installed')
        return
      }
      const defer = lifo(t)
      defer(() => mosquitto.close())
      const r = await mqttConnect(mosquitto.url)
      assert.ok('client' in r)
      defer(() => r.client.endAsync(true))
      const ghost = { description: 'ghost', role: 'model', ttl: 5, resources: ['/ghost'] }
      await r.client.publishAsync(
        '/controller',
        JSON.stringify({ id: 9, method: 'post', resource: `${REG}/ghost`, data: ghost }),
        {
          qos: 1,
          retain: true,
        },
      )
      const gw = await startTestGateway({ url: mosquitto.url })
      defer(() => gw.close())
      const b = await within(RawBundle.connect(gw, undefined), 5000, 'a bundle')
      defer(() => b.close())
      assert.equal((await b.register('real', 'model', ['/real'])).code, 200, 'the controller is subscribed')
      await waitFor(() => gw.controller.core.components().some((c) => c.name === 'real'))
      assert.equal(
        gw.controller.core.components().some((c) => c.name === 'ghost'),
        false,
      )
    },
  )

  test(
    'a fake presence stored on an external broker (mosquitto) costs our SDK no extra registration at a reconnect (held before too)',
    TIMEOUT,
    async (t) => {
      const mosquitto = await startMosquitto()
      if (!mosquitto) {
        t.skip('mosquitto is not installed')
        return
      }
      const defer = lifo(t)
      defer(() => mosquitto.close())
      const gw = await startTestGateway({ url: mosquitto.url })
      defer(() => gw.close())
      const registered: number[] = []
      gw.controller.core.onChange((event, c) => {
        if (event === 'registered' && c.name === 'victim') registered.push(Date.now())
      })
      const bundle = createBundle({
        manifest: {
          name: 'victim',
          version: '1',
          description: 'v',
          role: 'model',
          ttl: 5,
          resources: [{ resource: '/victim', methods: ['get'] }],
        },
        brokerUrl: mosquitto.url,
        logger: silentLogger(),
        signals: false,
      }).get('/victim', () => ({ ok: true }))
      await bundle.start()
      defer(() => bundle.stop())
      // an attacker stores a fake presence (mosquitto keeps it; the live copy makes the bundle register again once)
      const r = await mqttConnect(mosquitto.url)
      assert.ok('client' in r)
      const fake = JSON.stringify({ state: 'online', instance: 'ffffffffffffffff' })
      await r.client.publishAsync('/controller/presence', fake, { qos: 1, retain: true })
      await r.client.endAsync()
      await new Promise((res) => setTimeout(res, 1500))
      const beforeReconnect = registered.length
      // take the bundle's client id for a moment: mosquitto drops it, the SDK reconnects (and re-registers, §8.4)
      const squat = await mqttConnect(mosquitto.url, { clientId: bundle.clientId })
      assert.ok('client' in squat)
      await waitFor(() => registered.length > beforeReconnect, 10_000, 'the reconnect registration')
      await squat.client.endAsync(true).catch(() => {})
      await new Promise((res) => setTimeout(res, 2000)) // a replayed presence would register again within 0–1 s
      t.diagnostic(`registrations: ${registered.length} (${beforeReconnect} before the reconnect)`)
      assert.equal(
        registered.length,
        beforeReconnect + 1,
        'one registration for the reconnect, none for the replay',
      )
    },
  )
})
