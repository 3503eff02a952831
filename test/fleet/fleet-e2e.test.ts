/**
 * The fleet with real processes on loopback (issue 18): mosquitto as the central broker with a password file and
 * the ACL of docs/fleet.md, gateways cg-a and cg-b (each its embedded broker and the example bundle) and a hub.
 * Trust: cg-a trusts the hub and cg-b (readwrite); cg-b trusts the hub (readwrite) and cg-a (read); the hub nobody.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lifo } from '../helpers/gateway.ts'
import { findMosquitto, mqttCall, mqttConnect, subscribeCode } from '../helpers/processes.ts'
import { rawRequest } from '../helpers/raw-http.ts'
import { eventually, type FleetMember, PASSWORDS, startCentral, startMember } from './fleet-harness.ts'

const skip = findMosquitto() === undefined ? 'mosquitto is not installed' : false

async function online(hub: FleetMember, ids: string[]): Promise<boolean> {
  const r = await hub.call('GET', '/gateways')
  const list = r.body.gateways as Array<{ id: string; online: boolean; bundles: Array<{ name: string }> }>
  return ids.every((id) =>
    list.some(
      (g) => g.id === id && g.online && (id === 'cg-hub' || g.bundles.some((b) => b.name === 'example')),
    ),
  )
}

test('fleet over a real mosquitto: remote calls, presence, trust, ACL, partitions [WP-65..WP-69]', {
  skip,
  timeout: 240_000,
}, async (t) => {
  const defer = lifo(t)
  const central = await startCentral()
  assert.ok(central)
  defer(() => central.close())
  const a = await startMember(central, 'cg-a', { trust: 'cg-hub=readwrite,cg-b=readwrite' }, defer)
  const b = await startMember(central, 'cg-b', { trust: 'cg-hub=readwrite,cg-a=read' }, defer)
  const hub = await startMember(central, 'cg-hub', { trust: '', hub: true }, defer)
  await eventually(() => online(hub, ['cg-a', 'cg-b', 'cg-hub']), 20_000, 'the hub to see the fleet')

  await t.test('GET /api/v1/gateways lists the fleet with inventory [WP-66]', async () => {
    const r = await b.call('GET', '/gateways')
    assert.equal(r.status, 200)
    const self = r.body.self as { localId: string; uplink: { connected: boolean; url: string } }
    assert.equal(self.localId, 'cg-b')
    assert.equal(self.uplink.connected, true)
    const gws = r.body.gateways as Array<Record<string, unknown>>
    const ga = gws.find((g) => g.id === 'cg-a') as Record<string, unknown>
    assert.equal(ga.online, true)
    assert.equal(typeof ga.version, 'string')
    const ex = (ga.bundles as Array<Record<string, unknown>>).find((x) => x.name === 'example')
    assert.deepEqual(ex?.resources, ['/example'])
    assert.equal(ex?.ttlSec, 60)
    assert.equal((gws.find((g) => g.id === 'cg-hub') as Record<string, unknown>).hub, true)
  })

  await t.test(
    'remote GET and PUT through the hub reach cg-a (status = inner code, body = inner data) [WP-69]',
    async () => {
      const got = await hub.call('GET', '/cg-a/example')
      assert.equal(got.status, 200, JSON.stringify(got.body))
      assert.equal(typeof got.body.key, 'string')
      const put = await hub.call('PUT', '/cg-a/example', { key: 'from-hub' })
      assert.equal(put.status, 200, JSON.stringify(put.body))
      const local = await a.call('GET', '/example')
      assert.equal(local.body.key, 'from-hub')
      // a remote error keeps its status and body
      const missing = await hub.call('GET', '/cg-a/nothing-here')
      assert.equal(missing.status, 404)
      assert.equal(missing.body.code, 'GW_ERR_ROUTE_NOT_FOUND')
    },
  )

  await t.test(
    'through an ordinary gateway: cg-b reads and writes cg-a; cg-a only reads cg-b (read trust) [WP-68]',
    async () => {
      const got = await b.call('GET', '/cg-a/example')
      assert.equal(got.status, 200, JSON.stringify(got.body))
      assert.equal(got.body.key, 'from-hub')
      const put = await b.call('PUT', '/cg-a/example', { key: 'from-b' })
      assert.equal(put.status, 200, JSON.stringify(put.body))
      assert.equal((await a.call('GET', '/example')).body.key, 'from-b')
      assert.equal((await a.call('GET', '/cg-b/example')).status, 200)
      const refused = await a.call('PUT', '/cg-b/example', { key: 'from-a' })
      assert.equal(refused.status, 403, JSON.stringify(refused.body))
      assert.equal(refused.body.code, 'GW_ERR_FLEET_SCOPE')
      assert.notEqual((await b.call('GET', '/example')).body.key, 'from-a')
      assert.equal((await hub.call('PUT', '/cg-a/example', { key: 'from-hub' })).status, 200)
    },
  )

  await t.test(
    'a gateway without trust for the caller answers 403, and logs the caller [WP-68]',
    async () => {
      // the hub trusts nobody
      const r = await a.call('GET', '/cg-hub/example')
      assert.equal(r.status, 403, JSON.stringify(r.body))
      assert.equal(r.body.code, 'GW_ERR_FLEET_UNTRUSTED')
      await eventually(
        async () => /caller not trusted.*cg-a|cg-a.*caller not trusted/.test(hub.gw.output()),
        5000,
        'the log line naming the caller',
      )
    },
  )

  await t.test('an unknown gateway answers 503 at once', async () => {
    const r = await hub.call('GET', '/cg-nowhere/example')
    assert.equal(r.status, 503)
    assert.equal(r.body.code, 'GW_ERR_FLEET_UNKNOWN')
  })

  await t.test(
    'an MQTT peer publishing /remote/cg-a on the local broker gets the same (nested) answer [WP-69]',
    async () => {
      const answer = await mqttCall(hub.gw.brokerUrl, 'get', '/remote/cg-a', {
        resource: '/example',
        method: 'get',
        data: {},
      })
      assert.equal(answer.code, 200)
      assert.deepEqual(answer.data, { code: 200, data: { key: 'from-hub' } })
      // a GET whose inner request is a PUT is refused: the outer method is what a token's scope was checked on
      const sneaky = await mqttCall(hub.gw.brokerUrl, 'get', '/remote/cg-a', {
        resource: '/example',
        method: 'put',
        data: { key: 'sneaky' },
      })
      assert.equal((sneaky.data as { code: number }).code, 400)
      // the same over HTTP: a GET (what a read token may send) with a body that asks for a PUT
      const body = JSON.stringify({ resource: '/example', method: 'put', data: { key: 'x' } })
      const port = Number(new URL(hub.gw.httpUrl).port)
      const http = await rawRequest(
        port,
        `GET /api/v1/remote/cg-a HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nmx-api-token: ${hub.gw.rootToken}\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      )
      assert.match(http.body, /GW_ERR_FLEET_BAD_REQUEST/)
      assert.equal((await a.call('GET', '/example')).body.key, 'from-hub')
    },
  )

  await t.test("the ACL stops a gateway from publishing into another one's namespace [WP-65]", async () => {
    const asA = await mqttConnect(central.url, { username: 'cg-a', password: PASSWORDS['cg-a'] })
    assert.ok('client' in asA)
    const asHub = await mqttConnect(central.url, { username: 'cg-hub', password: PASSWORDS['cg-hub'] })
    assert.ok('client' in asHub)
    defer(() => asA.client.endAsync())
    defer(() => asHub.client.endAsync())
    // cg-a may not read the answers meant for the hub: mosquitto grants the subscription and delivers nothing
    const spied: string[] = []
    asA.client.on('message', (topic) => spied.push(topic))
    const hubSees: string[] = []
    asHub.client.on('message', (topic) => hubSees.push(topic))
    await subscribeCode(asA.client, '/fleet/+/res/cg-hub')
    assert.equal(await subscribeCode(asHub.client, '/fleet/+/res/cg-hub'), 1)
    assert.equal((await hub.call('GET', '/cg-a/example')).status, 200)
    await eventually(
      async () => hubSees.includes('/fleet/cg-a/res/cg-hub'),
      5000,
      'the answer on the hub side',
    )
    assert.deepEqual(spied, [])
    const forged = JSON.stringify({ id: 77, method: 'put', resource: '/example', data: { key: 'forged' } })
    await asA.client.publishAsync('/fleet/cg-hub/req/cg-b', forged, { qos: 1 })
    // control: the same message with the hub's own credentials is served (so the check above can fail)
    const real = JSON.stringify({ id: 78, method: 'put', resource: '/example', data: { key: 'by-hub' } })
    await asHub.client.publishAsync('/fleet/cg-hub/req/cg-b', real, { qos: 1 })
    await eventually(
      async () => (await b.call('GET', '/example')).body.key === 'by-hub',
      5000,
      "the hub's write",
    )
    await new Promise((r) => setTimeout(r, 300))
    assert.equal((await b.call('GET', '/example')).body.key, 'by-hub')
    // and a forged answer to the hub (cg-a pretending to be cg-b) is dropped by the ACL too
    const sub = await mqttConnect(central.url, { username: 'cg-b', password: PASSWORDS['cg-b'] })
    assert.ok('client' in sub)
    defer(() => sub.client.endAsync())
    const seen: string[] = []
    sub.client.on('message', (topic) => seen.push(topic))
    assert.equal(await subscribeCode(sub.client, '/fleet/+/req/cg-b'), 1)
    await asA.client.publishAsync('/fleet/cg-hub/req/cg-b', forged, { qos: 1 })
    await asA.client.publishAsync('/fleet/cg-a/req/cg-b', forged, { qos: 1 })
    await eventually(async () => seen.includes('/fleet/cg-a/req/cg-b'), 5000, "cg-a's own request")
    assert.deepEqual(seen, ['/fleet/cg-a/req/cg-b'])
  })

  await t.test(
    'losing the uplink never affects local traffic; the fleet recovers after a broker restart',
    async () => {
      await central.stop()
      await eventually(
        async () =>
          (await hub.call('GET', '/gateways')).body.self !== undefined &&
          ((await hub.call('GET', '/gateways')).body.self as { uplink: { connected: boolean } }).uplink
            .connected === false,
        10_000,
        'the hub to notice',
      )
      const local = await a.call('GET', '/example')
      assert.equal(local.status, 200)
      const put = await a.call('PUT', '/example', { key: 'while-cut-off' })
      assert.equal(put.status, 200)
      const r = await hub.call('GET', '/cg-a/example')
      assert.equal(r.status, 503)
      assert.equal(r.body.code, 'GW_ERR_FLEET_UPLINK_DOWN')
      const restarted = Date.now()
      await central.restart()
      await eventually(
        async () => (await hub.call('GET', '/cg-a/example')).body.key === 'while-cut-off',
        60_000,
        'recovery',
      )
      t.diagnostic(`fleet recovered ${Date.now() - restarted} ms after the broker restarted`)
      assert.equal((await b.call('GET', '/cg-a/example')).status, 200)
    },
  )

  await t.test(
    'a killed gateway answers 503 with its last-seen at once, and is back after a restart',
    async () => {
      await a.kill9()
      await eventually(
        async () => (await hub.call('GET', '/cg-a/example')).status === 503,
        10_000,
        'cg-a offline',
      )
      const started = Date.now()
      const r = await hub.call('GET', '/cg-a/example')
      const ms = Date.now() - started
      assert.equal(r.status, 503)
      assert.equal(r.body.code, 'GW_ERR_FLEET_OFFLINE')
      assert.ok(!Number.isNaN(Date.parse(r.body.lastSeen as string)), JSON.stringify(r.body))
      t.diagnostic(`offline answer in ${ms} ms`)
      await a.start()
      await eventually(
        async () => (await hub.call('GET', '/cg-a/example')).status === 200,
        30_000,
        'cg-a back',
      )
    },
  )
})
