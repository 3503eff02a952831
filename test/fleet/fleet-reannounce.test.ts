/**
 * The re-announce rule of §8.14 [WP-66] with a real mosquitto and two in-process gateways: a peer whose retained
 * presence came with the SUBSCRIBE stays online past `fleet.reannounceSec` (the first benchmark run found every
 * peer expired after 40 s: the time was taken after the SUBACK, later than the retained presences it brought),
 * and a peer that never announces itself again after a broker restart turns offline.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openSse } from '../helpers/events.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { findMosquitto, mqttConnect } from '../helpers/processes.ts'
import { dataOf, RawBundle } from '../helpers/raw-bundle.ts'
import { eventually, memberFleet, PASSWORDS, startCentral } from './fleet-harness.ts'

const skip = findMosquitto() === undefined ? 'mosquitto is not installed' : false

test('[WP-66] peers re-announced after the SUBSCRIBE stay online; silent ones expire after fleet.reannounceSec; push events on /gateways/<id>', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const defer = lifo(t)
  const central = await startCentral()
  assert.ok(central)
  defer(() => central.close())
  const fleet = (id: 'cg-a' | 'cg-hub', trust: string) =>
    memberFleet(central, id, { trust, reannounceSec: 1 })
  const a = await startTestGateway({ fleet: fleet('cg-a', 'cg-hub=read') })
  defer(() => a.close())
  const bundle = await RawBundle.connect(a, undefined)
  defer(() => bundle.client.endAsync())
  const reg = await bundle.register('thing', 'model', ['/thing'])
  assert.equal(reg.code, 200)
  bundle.serve(String(dataOf(reg).tunnel), 'thing', { v: 1 })
  const hub = await startTestGateway({ fleet: fleet('cg-hub', '') })
  defer(() => hub.close())
  const remote = () =>
    fetch(`${hub.httpUrl}/api/v1/cg-a/thing`, { headers: { 'mx-api-token': hub.rootToken } }).then(
      async (r) => ({
        status: r.status,
        body: (await r.json()) as Record<string, unknown>,
      }),
    )
  await eventually(async () => (await remote()).status === 200, 10_000, 'the first remote call')
  const sse = await openSse(`${hub.httpUrl}/api/v1/events?resource=/gateways/%23`, {
    'mx-api-token': hub.rootToken,
  })
  defer(() => sse.close())
  assert.equal(sse.status, 200)
  // a "gateway" cg-b that announces itself once (retained, no will) and vanishes
  const b = await mqttConnect(central.url, { username: 'cg-b', password: PASSWORDS['cg-b'] })
  assert.ok('client' in b)
  const p = {
    id: 'cg-b',
    state: 'online',
    version: 'x',
    hub: false,
    startedAt: 1,
    at: Date.now(),
    bundles: [],
  }
  await b.client.publishAsync('/fleet/cg-b/presence', JSON.stringify(p), { qos: 1, retain: true })
  await b.client.endAsync()
  await eventually(async () => hub.fleet?.directory.get('cg-b')?.online === true, 5000, 'cg-b seen')
  // the push channel says so: `/gateways/<id>`, method put, data = the gateway and the change
  await eventually(
    async () => sse.events().some((e) => e.resource === '/gateways/cg-b'),
    5000,
    'the push event',
  )
  const came = sse.events().find((e) => e.resource === '/gateways/cg-b')
  assert.ok(came)
  const data = came.data as { change: string; online: boolean }
  assert.deepEqual([came.method, data.change, data.online], ['put', 'online', true])
  // past the re-announce window of the hub's first connect: cg-a, announced with the SUBSCRIBE, is still online
  await new Promise((r) => setTimeout(r, 2500))
  const r = await remote()
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.equal(
    hub.fleet?.directory.get('cg-b')?.online,
    true,
    'its retained presence came with the SUBSCRIBE too',
  )
  // the broker restarts without persistence: cg-a announces itself again, cg-b does not
  await central.restart()
  await eventually(async () => (await remote()).status === 200, 20_000, 'recovery')
  await eventually(async () => hub.fleet?.directory.get('cg-b')?.online === false, 5000, 'cg-b expired')
  await eventually(
    async () =>
      sse
        .events()
        .some((e) => e.resource === '/gateways/cg-b' && (e.data as { change: string }).change === 'offline'),
    5000,
    'the offline push event',
  )
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal((await remote()).status, 200, 'cg-a stays online')
})
