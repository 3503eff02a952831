/**
 * The SDK's registration routine and the controller's `online` presence (wire-protocol.md §4.6, §8.4 [WP-45]
 * [WP-46]): a bundle whose registration DELETE was lost (it reached the broker before the controller had its
 * subscription back) restarts the routine as soon as the controller announces itself, instead of waiting out its
 * 3 s reply timeout and a pause. Timers are frozen (mock timers for setTimeout), so a routine that waited for a
 * timeout would never finish: the tests can only pass through the presence path.
 */
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import mqtt from 'mqtt'
import { startBroker } from '../../src/broker/index.ts'
import { startController } from '../../src/controller/index.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Envelope } from '../../src/protocol/index.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { lifo } from '../helpers/gateway.ts'

/** Real-time polling that does not use setTimeout (it is mocked in these tests). */
function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer)
        resolve()
      } else if (performance.now() > end) {
        clearInterval(timer)
        reject(new Error(`not within ${ms} ms: ${what}`))
      }
    }, 5)
  })
}

function realSleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      clearInterval(timer)
      resolve()
    }, ms)
  })
}

/** An embedded broker with no controller yet, and a peer that records every registration call on `/controller`. */
async function setup(t: TestContext) {
  const defer = lifo(t)
  const broker = await startBroker({ port: 0 })
  defer(() => broker.close())
  const spy = await mqtt.connectAsync(broker.url, { clientId: 'spy', reconnectPeriod: 0 })
  defer(() => spy.endAsync())
  const calls: string[] = []
  spy.on('message', (_topic, payload) => {
    const msg = JSON.parse(payload.toString()) as Envelope
    if (
      msg.resource === '/controller/registration' &&
      typeof msg.method === 'string' &&
      msg.code === undefined
    )
      calls.push(msg.method)
  })
  await spy.subscribeAsync('/controller', { qos: 1 })
  return { defer, broker, calls }
}

const manifest = (name: string, resources = [`/${name}`]) => ({
  name,
  version: '1',
  description: `${name} test bundle`,
  role: 'model',
  ttl: 5,
  resources: resources.map((resource) => ({ resource, methods: ['get'] })),
})

describe('[WP-45][WP-46] the controller announcing itself restarts a stalled registration at once', () => {
  test('a DELETE that nobody received is sent again when the controller says online, then POST: registered', async (t) => {
    const { defer, broker, calls } = await setup(t)
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const bundle = createBundle({
      manifest: manifest('early'),
      brokerUrl: broker.url,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/early', () => 'up')
    const started = bundle.start()
    defer(() => bundle.stop())
    defer(() => t.mock.timers.reset()) // real timers again for the cleanup
    let presenceSubscribed = false
    broker.aedes.on('subscribe', (subs, client) => {
      if (client?.id === bundle.clientId && subs.some((s) => s.topic === '/controller/presence'))
        presenceSubscribed = true
    })
    await until(() => calls.length === 1, 5000, 'the first DELETE (the controller is not there yet)')
    await until(() => presenceSubscribed, 5000, "the bundle's subscription to /controller/presence")
    assert.deepEqual(calls, ['delete'])
    // The controller starts and announces itself (§8.4). No timer may run: the 3 s reply timeout is frozen.
    const controller = await startController({ embedded: broker.aedes })
    defer(() => controller.close())
    let registered = false
    void started.then(() => (registered = true))
    await until(() => registered, 5000, 'the bundle to register through the presence path')
    assert.deepEqual(calls, ['delete', 'delete', 'post'], 'DELETE-then-POST order kept (§4.6)')
    const info = controller.core.components().find((c) => c.name === 'early')
    assert.equal(info?.online, true)
    assert.equal(bundle.registered, true)
  })

  test('a routine pausing after a real refusal keeps its backoff: an announcement does not restart it', async (t) => {
    const { defer, broker, calls } = await setup(t)
    const controller = await startController({ embedded: broker.aedes })
    defer(() => controller.close())
    const first = createBundle({
      manifest: { ...manifest('owner', ['/shared']), name: 'owner' },
      brokerUrl: broker.url,
      logger: silentLogger(),
      signals: false,
    })
    await first.start()
    defer(() => first.stop())
    calls.length = 0
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const second = createBundle({
      manifest: manifest('rival', ['/shared']),
      brokerUrl: broker.url,
      logger: silentLogger(),
      signals: false,
    })
    void second.start().catch(() => undefined)
    defer(() => second.stop())
    defer(() => t.mock.timers.reset()) // real timers again for the cleanup
    // DELETE 200, POST 409 (the pattern is owner's [WP-39]): the routine now pauses 1 s (frozen).
    await until(() => calls.length === 2, 5000, 'DELETE and the refused POST')
    await realSleep(100) // the 409 reaches the bundle
    controller.core.announce()
    controller.core.announce()
    // Let the announcements travel (real time passes; only setTimeout is frozen).
    await realSleep(200)
    assert.deepEqual(calls, ['delete', 'post'], 'no new attempt before the pause ends')
    assert.equal(second.registered, false)
    // The pause ends: DELETE and POST again (still refused), as §4.6/§8.4 prescribe.
    t.mock.timers.tick(1500)
    await until(() => calls.length === 4, 5000, 'the next attempt after the pause')
    assert.deepEqual(calls, ['delete', 'post', 'delete', 'post'])
  })
})
