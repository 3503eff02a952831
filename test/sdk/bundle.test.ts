import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import mqtt from 'mqtt'
import { startBroker } from '../../src/broker/index.ts'
import { startController } from '../../src/controller/index.ts'
import {
  Bundle,
  BundleError,
  createBundle,
  type EventMessage,
  event,
  type RequestMessage,
  type Respond,
  route,
} from '../../src/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { publishQosFromEnv } from '../../src/sdk/env.ts'
import { brokerUrlFromEnv } from '../../src/sdk/index.ts'
import { lifo, logSink, startTestGateway, waitFor } from '../helpers/gateway.ts'

const manifest = (
  name: string,
  resources: Array<{ resource: string; methods?: string[]; role?: string }>,
) => ({
  name,
  version: '0.0.1',
  description: `${name} test bundle`,
  role: 'model',
  ttl: 5,
  resources,
})

class Thermo extends Bundle {
  readings = new Map<string, number>([['5', 21.5]])

  @route({ resource: '/thermo/:id', methods: 'get' })
  read(message: RequestMessage) {
    const value = this.readings.get(message.param.id ?? '')
    if (value === undefined)
      throw new BundleError(404, `no sensor ${message.param.id}`, { id: message.param.id ?? null })
    return { id: message.param.id ?? null, value, query: message.query as Record<string, string> }
  }

  @route({
    resource: '/thermo/:id',
    methods: ['put', 'post'],
    schema: { type: 'object', required: ['value'], properties: { value: { type: 'number' } } },
  })
  write(message: RequestMessage, response: Respond) {
    const { value } = message.data as { value: number }
    this.readings.set(message.param.id ?? '', value)
    response({ code: 201, data: { ok: true, caller: message.caller ? { ...message.caller } : null } })
  }

  @route({ resource: '/thermo/boom', methods: 'delete' })
  boom(): never {
    throw new Error('kaboom')
  }
}

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  return Object.assign(gw, { defer })
}

describe('Bundle', () => {
  test('decorated routes: params, query, return value, BundleError, schema 400, response(), 500 without stack', async (t) => {
    const gw = await setup(t)
    const bundle = new Thermo({
      manifest: manifest('thermo', [{ resource: '/thermo/:id', methods: ['get', 'put'] }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    await bundle.start()
    gw.defer(() => bundle.stop())
    const core = gw.controller.core

    const ok = await core.request({ method: 'get', resource: '/thermo/5?unit=c&raw' })
    assert.equal(ok.message.code, 200)
    assert.deepEqual(ok.message.data, { id: '5', value: 21.5, query: { unit: 'c', raw: true } })
    assert.deepEqual(ok.message.sign, ['thermo'])

    const missing = await core.request({ method: 'get', resource: '/thermo/9' })
    assert.equal(missing.message.code, 404)
    assert.deepEqual(missing.message.data, { id: '9', message: 'no sensor 9' })

    const bad = await core.request({ method: 'put', resource: '/thermo/5', data: { value: 'hot' } })
    assert.equal(bad.message.code, 400)
    assert.match((bad.message.data as { message: string }).message, /value must be number/)

    const put = await core.request({
      method: 'put',
      resource: '/thermo/5',
      data: { value: 30 },
      caller: { token: 'tk1', scope: 'readwrite' },
    })
    assert.equal(put.message.code, 201)
    assert.deepEqual(put.message.data, { ok: true, caller: { token: 'tk1', scope: 'readwrite' } })
    assert.deepEqual((await core.request({ method: 'get', resource: '/thermo/5' })).message.data, {
      id: '5',
      value: 30,
      query: {},
    })

    const boom = await core.request({ method: 'delete', resource: '/thermo/boom' })
    assert.equal(boom.message.code, 500)
    assert.deepEqual(boom.message.data, { message: 'Internal Error.' })

    // §6 item 9: no route for the resource and method
    const none = await core.request({ method: 'delete', resource: '/thermo/5?x=1' })
    assert.equal(none.message.code, 404)
    assert.deepEqual(none.message.data, { message: "Route '/thermo/5?x=1' not found." })
  })

  test('a body schema on a route for every method checks POST and PUT, never GET; DELETE only when named', async (t) => {
    const gw = await setup(t)
    const bundle = createBundle({
      manifest: manifest('cfg', [{ resource: '/cfg' }, { resource: '/cfg/:id' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    const body = { type: 'object', required: ['value'], properties: { value: { type: 'number' } } }
    bundle.route({ resource: '/cfg', schema: body }, (m) => ({ method: m.method }))
    bundle.route({ resource: '/cfg/:id', methods: ['get', 'delete'], schema: { body } }, (m) => ({
      method: m.method,
    }))
    await bundle.start()
    gw.defer(() => bundle.stop())
    const call = async (method: string, resource: string, data?: unknown) => {
      const r = await gw.controller.core.request({
        method,
        resource,
        ...(data === undefined ? {} : { data: data as null }),
      })
      return r.message.code
    }
    // a GET carries no body: over MQTT no data at all, over HTTP `{}`
    assert.equal(await call('get', '/cfg'), 200)
    assert.equal(await call('get', '/cfg', {}), 200)
    assert.equal(await call('delete', '/cfg', {}), 200, 'DELETE not named: not checked')
    assert.equal(await call('put', '/cfg', {}), 400)
    assert.equal(await call('post', '/cfg', { value: 'x' }), 400)
    assert.equal(await call('post', '/cfg', { value: 1 }), 200)
    assert.equal(await call('get', '/cfg/1', {}), 200)
    assert.equal(await call('delete', '/cfg/1', {}), 400, 'DELETE named with a body schema: checked')
    assert.equal(await call('delete', '/cfg/1', { value: 2 }), 200)
  })

  test('the debug flag puts the stack trace in 500 answers', async (t) => {
    const gw = await setup(t)
    const bundle = createBundle({
      manifest: manifest('dbg', [{ resource: '/dbg' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
      debug: true,
    })
    bundle.get('/dbg', () => {
      throw new Error('with stack')
    })
    await bundle.start()
    gw.defer(() => bundle.stop())
    const r = await gw.controller.core.request({ method: 'get', resource: '/dbg' })
    assert.equal(r.message.code, 500)
    assert.match((r.message.data as { traceback: string }).traceback, /Error: with stack/)
  })

  test('functional API, publish.get between bundles (direct), and publish.event to a view', async (t) => {
    const gw = await setup(t)
    const server = createBundle({
      manifest: manifest('server', [{ resource: '/server/:name' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    server.get('/server/:name', (m) => ({ hello: m.param.name ?? null }))
    server.post('/server/:name', (m) => ({ posted: m.data ?? null }), { schema: { type: 'object' } })
    await server.start()
    gw.defer(() => server.stop())

    const seen: EventMessage[] = []
    class Watcher extends Bundle {
      @event({ resource: '/server/:name', methods: 'put' })
      onChange(message: EventMessage) {
        seen.push(message)
      }
    }
    const watcher = new Watcher({
      manifest: { ...manifest('watcher', [{ resource: '/server/:name', role: 'view' }]), role: 'view' },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    await watcher.start()
    gw.defer(() => watcher.stop())

    const client = createBundle({
      manifest: manifest('client', []),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    await client.start()
    gw.defer(() => client.stop())
    const answer = await client.publish.get('/server/ann')
    assert.equal(answer.code, 200)
    assert.deepEqual(answer.data, { hello: 'ann' })
    assert.ok(answer.id >= 1_048_576) // [WP-58]
    const posted = await client.publish.direct.post('/server/bob', { x: 1 })
    assert.deepEqual(posted.data, { posted: { x: 1 } })
    const unknown = await client.publish.get('/nobody/here')
    assert.equal(unknown.code, 404)

    await client.publish.event.put('/server/ann', { temp: 3 })
    await waitFor(() => seen.length === 1, 3000, 'the event')
    assert.equal(seen[0]?.code, 200)
    assert.deepEqual(seen[0]?.data, { temp: 3 })
    assert.deepEqual(seen[0]?.param, { name: 'ann' })

    // §6 item 5: a view observes the final answer of someone else's plain request as an event
    await gw.controller.core.request({ method: 'put', resource: '/server/ann', data: { a: 1 } })
    await waitFor(() => seen.length === 2, 3000, 'the observed answer')
    assert.equal(seen[1]?.code, 404)
    assert.ok(!('id' in (seen[1]?.raw ?? {})))
  })

  test('publish rejects with GW_ERR_REQUEST_TIMEOUT when nobody answers in time', async (t) => {
    const gw = await setup(t)
    const silent = createBundle({
      manifest: manifest('silent', [{ resource: '/silent' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    silent.get('/silent', () => new Promise(() => {}))
    await silent.start()
    gw.defer(() => silent.stop())
    await assert.rejects(silent.publish.get('/silent', undefined, { timeoutMs: 200 }), {
      code: 'GW_ERR_REQUEST_TIMEOUT',
    })
  })

  test('registration log lines tell the story of the Python SDK, and the view profile is skipped', async (t) => {
    const gw = await setup(t)
    const sink = logSink()
    const bundle = createBundle({
      manifest: manifest('storyteller', [{ resource: '/story' }]),
      brokerUrl: gw.brokerUrl,
      logger: sink.logger,
      signals: false,
    })
    bundle.get('/story', () => 'once')
    await bundle.start()
    await bundle.stop()
    const msgs = sink.lines.map((l) => l.msg as string)
    const inOrder = (order: string[]) => {
      let at = -1
      for (const m of order) {
        const k = msgs.indexOf(m, at + 1)
        assert.ok(k > at, `"${m}" after the previous line; got ${JSON.stringify(msgs)}`)
        at = k
      }
    }
    const registeredLine = `Register successfully storyteller tunnel: ${bundle.tunnels.get('model')}`
    // init() and the connection run side by side; registration waits for both
    inOrder([
      'config loaded',
      'custom init start',
      'custom init finish',
      'deregister storyteller',
      registeredLine,
    ])
    inOrder([
      'config loaded',
      'connecting to broker',
      'connection established',
      'subscribe',
      'storyteller-view no need to register due to no resources',
      'deregister storyteller',
      registeredLine,
    ])
  })

  test('init() that throws makes start() reject, closes the connection and registers nothing', async (t) => {
    const gw = await setup(t)
    class Broken extends Bundle {
      override init() {
        throw new Error('no device')
      }
    }
    const b = new Broken({
      manifest: manifest('broken', [{ resource: '/broken' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    await assert.rejects(b.start(), /no device/)
    await new Promise((r) => setTimeout(r, 100))
    assert.ok(!gw.controller.core.components().some((c) => c.name === 'broken'))
    assert.equal(gw.broker?.aedes.connectedClients, 0)
  })

  test('[WP-47] registration data carries clientId; stop says offline on presence [WP-42]', async (t) => {
    const gw = await setup(t)
    const bundle = createBundle({
      manifest: manifest('leaver', [{ resource: '/leaver' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    await bundle.start()
    const info = () => gw.controller.core.components().find((c) => c.name === 'leaver')
    assert.equal(info()?.data.clientId, bundle.clientId)
    assert.equal(info()?.online, true)
    await bundle.stop()
    await waitFor(() => info()?.online === false, 3000, 'offline')
    const r = await gw.controller.core.request({ method: 'get', resource: '/leaver' })
    assert.equal(r.message.code, 503)
  })

  test('[WP-46] re-registers when the controller comes back with another instance', async (t) => {
    const defer = lifo(t)
    const broker = await startBroker({ port: 0 })
    defer(() => broker.close())
    let controller = await startController({ embedded: broker.aedes })
    const bundle = createBundle({
      manifest: manifest('phoenix', [{ resource: '/phoenix' }]),
      brokerUrl: broker.url,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/phoenix', () => 'risen')
    await bundle.start()
    defer(() => bundle.stop())
    await controller.close()
    controller = await startController({ embedded: broker.aedes })
    defer(() => controller.close())
    const core = controller.core
    await waitFor(() => core.components().some((c) => c.name === 'phoenix'), 5000, 're-registration')
    const r = await core.request({ method: 'get', resource: '/phoenix' })
    assert.equal(r.message.data, 'risen')
  })

  test('[WP-44] re-registers after a broker restart (gateway restart)', async (t) => {
    const first = await startTestGateway()
    const port = first.broker?.port as number
    const bundle = createBundle({
      manifest: manifest('survivor', [{ resource: '/survivor' }]),
      brokerUrl: first.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/survivor', () => 'still here')
    const defer = lifo(t)
    await bundle.start()
    await first.close()
    const { loadConfig } = await import('../../src/config/index.ts')
    const { startGateway } = await import('../../src/server.ts')
    const second = await startGateway(
      await loadConfig({
        env: {},
        flags: {
          broker: { port },
          http: { port: 0, auth: false },
          data: { dir: first.dataDir },
          log: { level: 'silent' },
        },
      }),
    )
    defer(() => second.close())
    defer(() => bundle.stop())
    const core = second.controller.core
    await waitFor(() => core.components().some((c) => c.name === 'survivor'), 8000, 're-registration')
    assert.equal((await core.request({ method: 'get', resource: '/survivor' })).message.data, 'still here')
  })

  test('a bundle answers requests that a raw MQTT peer sends, and echoes unknown keys like the Python SDK', async (t) => {
    const gw = await setup(t)
    const bundle = createBundle({
      manifest: manifest('echo', [{ resource: '/echo' }]),
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/echo', () => ({ v: 1 }))
    await bundle.start()
    gw.defer(() => bundle.stop())
    const peer = await mqtt.connectAsync(gw.brokerUrl, { clean: true, reconnectPeriod: 0 })
    gw.defer(() => peer.endAsync())
    await peer.subscribeAsync('peer-reply', { qos: 0 })
    const got = new Promise<Record<string, unknown>>((resolve) =>
      peer.once('message', (_t, p) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)),
    )
    await peer.publishAsync(
      '/controller',
      JSON.stringify({
        id: 4711,
        method: 'get',
        resource: '/echo',
        tunnel: 'peer-reply',
        _private: 1,
        extra: 'x',
      }),
      { qos: 2 },
    )
    assert.deepEqual(await got, {
      id: 4711,
      method: 'get',
      resource: '/echo',
      extra: 'x',
      code: 200,
      data: { v: 1 },
      sign: ['echo'],
    })
  })
})

test('BROKER_URL, then the original BROKER_PORT_1883_TCP_* variables, then the default', () => {
  assert.equal(brokerUrlFromEnv({ BROKER_URL: 'mqtt://b:1' }), 'mqtt://b:1')
  assert.equal(
    brokerUrlFromEnv({ BROKER_PORT_1883_TCP_ADDR: '10.1.1.1', BROKER_PORT_1883_TCP_PORT: '1884' }),
    'mqtt://10.1.1.1:1884',
  )
  assert.equal(brokerUrlFromEnv({ BROKER_PORT_1883_TCP_ADDR: '::1' }), 'mqtt://[::1]:1883')
  assert.equal(brokerUrlFromEnv({}), 'mqtt://127.0.0.1:1883')
})

test('publish QoS: 1 by default (wire-protocol.md §2.2, version 1.1), BUNDLE_PUBLISH_QOS=2 or 0 on request', () => {
  assert.equal(publishQosFromEnv({}), 1)
  assert.equal(publishQosFromEnv({ BUNDLE_PUBLISH_QOS: '2' }), 2)
  assert.equal(publishQosFromEnv({ BUNDLE_PUBLISH_QOS: '0' }), 0)
  assert.equal(publishQosFromEnv({ BUNDLE_PUBLISH_QOS: 'x' }), 1)
})

test('a default bundle publishes its answers and events at QoS 1 on the wire (§2.2)', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const spy = await mqtt.connectAsync(gw.brokerUrl, { reconnectPeriod: 0 })
  defer(() => spy.endAsync())
  const seen: Array<{ qos: number; message: Record<string, unknown> }> = []
  spy.on('message', (_topic, payload, packet) =>
    seen.push({ qos: packet.qos, message: JSON.parse(payload.toString()) as Record<string, unknown> }),
  )
  await spy.subscribeAsync('/controller', { qos: 2 })
  const bundle = createBundle({
    manifest: manifest('qosdefault', [{ resource: '/qosdefault' }]),
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.get('/qosdefault', () => ({ ok: 1 }))
  await bundle.start()
  defer(() => bundle.stop())
  const r = await gw.controller.core.request({ method: 'get', resource: '/qosdefault' })
  assert.deepEqual(r.message.data, { ok: 1 })
  await bundle.publish.event.put('/qosdefault', { changed: true })
  await waitFor(
    () => seen.some((s) => s.message.code === 200 && s.message.id === undefined),
    3000,
    'the event',
  )
  const answer = seen.find(
    (s) => s.message.id !== undefined && s.message.code === 200 && s.message.data !== undefined,
  )
  const event = seen.find((s) => s.message.id === undefined && s.message.resource === '/qosdefault')
  assert.equal(answer?.qos, 1, 'the answer arrives at QoS 1 on a QoS 2 subscription')
  assert.equal(event?.qos, 1, 'the event arrives at QoS 1 on a QoS 2 subscription')
})

test('a bundle publishing at QoS 2 on request answers like one at the default QoS 1', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const bundle = createBundle({
    manifest: manifest('qostwo', [{ resource: '/qostwo' }]),
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
    publishQos: 2,
  })
  bundle.get('/qostwo', () => ({ ok: 1 }))
  await bundle.start()
  defer(() => bundle.stop())
  const r = await gw.controller.core.request({ method: 'get', resource: '/qostwo' })
  assert.deepEqual(r.message.data, { ok: 1 })
})
