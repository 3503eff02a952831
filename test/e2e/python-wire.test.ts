/**
 * Wire-level compatibility with unmodified Sanji Python SDK 1.1.2 bundles (wire-protocol.md §4.5, §4.6, §6, §8):
 * real TCP MQTT on loopback, the embedded broker on a free port, a fake Python bundle that sends exactly what the
 * SDK sends, and the captures of the original stack (docs/spec/captures) as the expected replies.
 */
import assert from 'node:assert/strict'
import { describe, type TestContext, test } from 'node:test'
import { readCapture } from '../helpers/captures.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import {
  type Envelope,
  type JsonObject,
  type PythonManifest,
  PythonPeer,
  type PythonPeerOptions,
  pyDumps,
  pyRandomId,
  pyResponse,
  RawClient,
  REGISTRATION,
} from '../helpers/python-peer.ts'

/** Replies of our controller arrive within milliseconds; this only bounds a failing test. */
const TIMEOUT = 5000

/** The ThingsPro example bundle's bundle.json, as registered in captures/wire-registration.txt. */
const EXAMPLE: PythonManifest = {
  name: 'example',
  version: '0.0.1',
  author: 'Your Name Here',
  email: 'example@com.com',
  description: 'Description of this bundle',
  license: 'GPL',
  main: 'index.py',
  argument: '',
  priority: 99,
  hook: [],
  dependencies: {},
  repository: '',
  role: 'model',
  ttl: 60,
  resources: [{ resource: '/example' }],
}

/** The capture's tunnels: the Python SDK's internal one, the web layer's temporary one, and the component ones. */
const PY_INTERNAL = '8342990584f04c65896ad0fdb91e1d48'
const WEB_TEMP = 'SanjiTempTunnel-7d4701c247eda180'

// ------------------------------------------------------------------------------------------ capture replay

interface Rec {
  topic: string
  payload: string
  message: Envelope
}

/** One request of a capture with what followed: the copy the model got, the model's answer, the reply. */
interface Exchange {
  request: Rec
  forwarded?: Rec
  response?: Rec
  reply?: Rec
}

/**
 * Groups a capture into exchanges. Peers publish compact JSON on `/controller`; the original controller's own
 * pretty-printed messages on `/controller` and `/controller/registration` are internal to it and skipped (§2.1:
 * peers must not rely on them). A delivery with `code` is the reply; one without is the request forwarded to a model.
 */
function exchanges(name: string): Exchange[] {
  const out: Exchange[] = []
  for (const r of readCapture(name) as Rec[]) {
    if (r.topic === '/controller/registration') continue
    if (r.topic === '/controller') {
      if (r.payload.includes('\n')) continue
      if ('code' in r.message) out[out.length - 1]!.response = r
      else out.push({ request: r })
      continue
    }
    const ex = out[out.length - 1]!
    if ('code' in r.message) ex.reply = r
    else ex.forwarded = r
  }
  return out
}

/** A stateful `/example` model like the ThingsPro example bundle: GET answers the store, PUT replaces it. */
function exampleModel(initial: JsonObject = { key: 'value' }) {
  let store: JsonObject = initial
  return (request: Envelope) => {
    const method = String(request.method).toLowerCase()
    const path = String(request.resource).split('?')[0]
    if (path === '/example' && method === 'get') return { data: store }
    if (path === '/example' && method === 'put') {
      store = request.data as JsonObject
      return { data: store }
    }
    return { code: 404, data: { message: `Route '${String(request.resource)}' not found.` } }
  }
}

/** A controller reply compared with the captured one: equal, except that we add `data.instance` (§8.4). */
function assertRegistrationReply(actual: Envelope, captured: Envelope, instance: string): void {
  for (const k of ['id', 'code', 'method', 'resource', 'sign'])
    assert.deepEqual(actual[k], captured[k], `reply field '${k}'`)
  assert.deepEqual(
    Object.keys(actual).sort(),
    Object.keys(captured).sort(),
    'same top-level keys (no tunnel) [WP-9]',
  )
  if (captured.data === undefined) {
    assert.equal(actual.data, undefined, 'no data, as captured [WP-20]')
    return
  }
  const data = actual.data as JsonObject
  assert.match(String(data.tunnel), /^(0|[1-9][0-9]*)$/, 'data.tunnel is a decimal string [WP-11]')
  assert.equal(typeof data.tunnel, 'string')
  assert.ok(Number(data.tunnel) < 2 ** 31)
  assert.match(String(data.instance), /^[0-9a-f]{16}$/, 'data.instance: 16 hex (§8.4)')
  assert.equal(data.instance, instance)
  assert.deepEqual(Object.keys(data).sort(), ['instance', 'tunnel'], 'nothing else added to data')
}

interface Publisher {
  publish(payload: string): Promise<void>
}

/**
 * Replays one exchange: `sender` publishes the captured payload verbatim; the model must receive the captured
 * forwarded request unchanged, its answer must be byte-for-byte the captured Python answer, and the reply must be
 * the captured one (parsed and deep-compared). `map` turns a captured tunnel into ours.
 */
async function replay(
  ex: Exchange,
  sender: Publisher,
  tap: { inbox: PythonPeer['inbox'] },
  model: PythonPeer | undefined,
  map: (capturedTopic: string) => string,
  compareReply: (actual: Envelope, captured: Envelope) => void = (a, c) => assert.deepEqual(a, c),
): Promise<Envelope> {
  await sender.publish(ex.request.payload)
  if (ex.forwarded) {
    assert.ok(model)
    const got = await model.inbox.next(map(ex.forwarded.topic), TIMEOUT)
    assert.deepEqual(
      got.message,
      ex.forwarded.message,
      `request ${ex.request.message.id} reaches the model unchanged`,
    )
  }
  assert.ok(ex.reply, 'the capture has a reply')
  const reply = (await tap.inbox.next(map(ex.reply.topic), TIMEOUT)).message
  assert.ok(reply)
  compareReply(reply, ex.reply.message)
  if (ex.response) {
    assert.ok(model)
    const answer = model.sent.findLast((s) => s.message.id === ex.request.message.id && 'code' in s.message)
    assert.ok(answer, 'the fake model answered')
    assert.equal(answer.payload, ex.response.payload, 'the fake answers exactly as the Python SDK did')
  }
  return reply
}

// ------------------------------------------------------------------------------------------ fixtures

async function setup(t: TestContext) {
  const gw = await startTestGateway()
  const cleanup = lifo(t)
  cleanup(() => gw.close())
  const core = gw.controller.core
  /** A fake Python bundle, connected (its registration is up to the test). */
  const python = async (options: PythonPeerOptions = {}) => {
    const p = new PythonPeer({ requestTimeoutMs: TIMEOUT, postTimeoutMs: TIMEOUT, ...options })
    cleanup(() => p.close())
    return p.connect(gw.brokerUrl)
  }
  /** A raw client (a tool, or the original web layer). */
  const raw = async () => {
    const c = await RawClient.connect(gw.brokerUrl)
    cleanup(() => c.close(true))
    return c
  }
  /** The example model, registered through the SDK routine and serving `/example`. */
  const exampleBundle = async (initial?: JsonObject) => {
    const model = await python()
    model.serve(exampleModel(initial))
    await model.register(EXAMPLE)
    return model
  }
  return { gw, core, python, raw, exampleBundle }
}

/**
 * The original web layer (SanjiExpress, a view on `/#`) registers by replaying its captured DELETE and POST; the
 * replies are checked against the capture. Returns its view tunnel, subscribed.
 */
async function webLayer(raw: RawClient, instance: string): Promise<string> {
  await raw.subscribe(WEB_TEMP)
  const [del, post] = exchanges('wire-registration.txt').filter((e) => e.request.message.tunnel === WEB_TEMP)
  const check = (a: Envelope, c: Envelope) => assertRegistrationReply(a, c, instance)
  await replay(del!, raw, raw, undefined, (t) => t, check)
  const reply = await replay(post!, raw, raw, undefined, (t) => t, check)
  const tunnel = (reply.data as JsonObject).tunnel as string
  await raw.subscribe(tunnel)
  return tunnel
}

function offline(id: number, method: string): Envelope {
  return {
    id,
    code: 503,
    method,
    resource: '/example',
    sign: ['controller'],
    data: { message: "bundle 'example' is offline" },
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

// ------------------------------------------------------------------------------------------ tests

describe('Python SDK 1.1.2 bundles on the wire (captures of the original stack)', () => {
  test('[WP-11][WP-12][WP-20] the captured registration sequence of a Python bundle and the web layer', async (t) => {
    const { core, python, raw } = await setup(t)
    const all = exchanges('wire-registration.txt')
    assert.equal(all.length, 6, 'DELETE, DELETE (view), POST, web DELETE, web POST, GET')
    const check = (a: Envelope, c: Envelope) => assertRegistrationReply(a, c, core.instance)

    // The Python bundle: its three messages exactly as captured, replies on its 32-hex internal tunnel.
    const model = await python({ internalTunnel: PY_INTERNAL })
    model.name = 'example'
    model.serve(exampleModel())
    const tunnels = new Map<string, string>()
    const map = (topic: string) => tunnels.get(topic) ?? topic
    for (const ex of all.slice(0, 3)) {
      assert.equal(ex.request.message.tunnel, PY_INTERNAL)
      const reply = await replay(ex, model, model, model, map, check)
      if (ex.request.message.method === 'post') {
        tunnels.set(
          (ex.reply!.message.data as JsonObject).tunnel as string,
          (reply.data as JsonObject).tunnel as string,
        )
        await model.useTunnel('model', (reply.data as JsonObject).tunnel as string) // QoS 0, as the SDK does
      }
    }
    const example = core.components().find((c) => c.name === 'example')
    assert.ok(example, "'example' is registered")
    assert.deepEqual(example.patterns, ['/example'])
    assert.equal(example.role, 'model')
    assert.equal(example.ttlSec, 60)
    assert.ok(
      !core.components().some((c) => c.name === 'example-view'),
      'the empty view profile is not registered',
    )

    // The original web layer: DELETE by path, then POST of its `/#` view (SANJI-REST-vm).
    const web = await raw()
    await web.subscribe(WEB_TEMP)
    for (const ex of all.slice(3, 5)) {
      const reply = await replay(ex, web, web, undefined, map, check)
      if (ex.request.message.method === 'post') {
        const ours = (reply.data as JsonObject).tunnel as string
        tunnels.set((ex.reply!.message.data as JsonObject).tunnel as string, ours)
        await web.subscribe(ours)
      }
    }
    assert.notEqual(tunnels.get('1719095097'), tunnels.get('876699636'), 'tunnels are unique [WP-11]')

    // The web layer's plain GET: forwarded unchanged to the model, its answer reaches the view as captured.
    await replay(all[5]!, web, web, model, map)

    // [WP-20] DELETE of a registered component: 200 without data, as captured for the unknown one. The Python SDK
    // sends exactly this message again on its next reconnect.
    await replay(all[0]!, model, model, undefined, map, check)
    assert.ok(!core.components().some((c) => c.name === 'example'), "'example' is gone")
  })

  test('[WP-12][WP-20][WP-21] the fake runs the SDK routine exactly as captured; DELETE removes the pattern', async (t) => {
    const { core, python, raw } = await setup(t)
    const model = await python()
    model.serve(exampleModel())
    const { model: tunnel } = await model.register(EXAMPLE)
    assert.ok(tunnel)

    // Our fake against the capture: same messages, bytes included, except the random id and internal tunnel.
    const captured = exchanges('wire-registration.txt').slice(0, 3)
    assert.equal(model.registrations.length, 3)
    for (const [i, call] of model.registrations.entries()) {
      const c = captured[i]!.request
      const expected = c.payload
        .replaceAll(PY_INTERNAL, model.internalTunnel)
        .replace(/"id": \d+\}$/, `"id": ${String(call.request.id)}}`)
      assert.equal(model.sent[i]!.payload, expected, `registration message ${i + 1} as the SDK sends it`)
      const id = call.request.id as number
      assert.ok(Number.isInteger(id) && id >= 1 && id <= 655350, 'a Python id')
      assertRegistrationReply(call.reply!, { ...captured[i]!.reply!.message, id }, core.instance)
    }
    assert.deepEqual(
      model.registrations.map((c) => [c.method, c.name]),
      [
        ['delete', 'example'],
        ['delete', 'example-view'],
        ['post', 'example'],
      ],
    )

    const tool = await raw()
    await tool.subscribe('tool-1')
    await tool.publish('{"id": 11, "method": "get", "resource": "/example", "tunnel": "tool-1"}')
    assert.equal((await tool.nextMessage('tool-1')).code, 200)

    // [WP-20] a DELETE by path answers 200 without data and leaves /example without any pattern: 404, no data.
    await tool.publish(
      '{"id": 12, "method": "delete", "resource": "/controller/registration/example", "tunnel": "tool-1"}',
    )
    assert.deepEqual(await tool.nextMessage('tool-1'), {
      id: 12,
      code: 200,
      method: 'DELETE',
      resource: '/controller/registration/example',
      sign: ['controller'],
    })
    await tool.publish('{"id": 13, "method": "get", "resource": "/example", "tunnel": "tool-1"}')
    assert.deepEqual(await tool.nextMessage('tool-1'), {
      id: 13,
      code: 404,
      method: 'GET',
      resource: '/example',
      sign: ['controller'],
    })
    // [WP-12] and deleting it again is fine.
    await tool.publish(
      '{"id": 14, "method": "delete", "resource": "/controller/registration/example", "tunnel": "tool-1"}',
    )
    assert.equal((await tool.nextMessage('tool-1')).code, 200)

    // [WP-21] the routine run again: a new tunnel.
    const again = await model.register(EXAMPLE)
    assert.ok(again.model)
    assert.notEqual(again.model, tunnel)
    await tool.publish('{"id": 15, "method": "get", "resource": "/example", "tunnel": "tool-1"}')
    assert.equal((await tool.nextMessage('tool-1')).code, 200)
    assert.equal(model.inbox.all.at(-1)!.topic, again.model, 'the request came on the new tunnel')
  })

  test('direct requests of wire-mqtt-direct.txt: forwarded unchanged, answered exactly as captured', async (t) => {
    const { core, raw, exampleBundle } = await setup(t)
    const model = await exampleBundle()
    const tool = await raw()
    await tool.subscribe('my-tunnel-1')
    const map = (topic: string) => (topic === '1719095097' ? model.tunnels.model! : topic)
    const all = exchanges('wire-mqtt-direct.txt')
    assert.deepEqual(
      all.map((e) => e.request.message.id),
      [101, 102, 103, 104],
    )

    // Without the web layer's `/#` view, `/nope` matches nothing: 404 without data [WP-26].
    await tool.publish(all[3]!.request.payload)
    assert.deepEqual(await tool.nextMessage('my-tunnel-1'), {
      id: 104,
      code: 404,
      method: 'GET',
      resource: '/nope',
      sign: ['controller'],
    })

    // With it (as in the original capture), every exchange is reproduced exactly.
    await webLayer(await raw(), core.instance)
    for (const ex of all) await replay(ex, tool, tool, model, map)
    assert.equal(tool.inbox.all.length, 5, 'one reply per request, nothing else on my-tunnel-1')
  })

  test('plain requests of the original web layer (wire-http.txt) answer its `/#` view as captured', async (t) => {
    const { core, raw, exampleBundle } = await setup(t)
    const model = await exampleBundle({ key: 'v2' }) // the state the capture starts from
    const web = await raw()
    const view = await webLayer(web, core.instance)
    const map = (topic: string) =>
      topic === '1719095097' ? model.tunnels.model! : topic === '876699636' ? view : topic
    const all = exchanges('wire-http.txt')
    assert.deepEqual(
      all.map((e) => e.request.message.id),
      [4, 5, 6, 7],
    )
    for (const ex of all) await replay(ex, web, web, model, map)
    assert.equal(web.inbox.on(view).length, 4, 'one answer per request on the view tunnel, nothing else')
  })

  test('[WP-42][WP-21][WP-44] a Python bundle that never deregisters and reconnects', async (t) => {
    const { core, gw, python, exampleBundle } = await setup(t)
    const model = await exampleBundle()
    const first = model.tunnels.model!
    const caller = await python()
    assert.equal((await caller.request('get', '/example')).code, 200)
    const bound = core.components().find((c) => c.name === 'example')!
    assert.ok(bound.clientId?.startsWith('aedes_'), 'bound to the broker-assigned client id (§8.3)')

    // The process dies: no DISCONNECT, no will, no DELETE.
    await model.close({ abrupt: true })
    await waitFor(
      () => core.components().find((c) => c.name === 'example')?.online === false,
      TIMEOUT,
      'offline',
    )
    assert.ok(
      core.components().some((c) => c.name === 'example'),
      'still registered (§8.3)',
    )
    const start = performance.now()
    const get = await caller.request('get', '/example')
    t.diagnostic(`503 while offline after ${(performance.now() - start).toFixed(1)} ms (model ttl 60 s)`)
    assert.deepEqual(get, offline(get.id as number, 'GET'))
    const put = await caller.request('put', '/example', { key: 'lost' })
    assert.deepEqual(put, offline(put.id as number, 'PUT'))

    // The SDK reconnects (new connection, new broker-assigned client id) and runs DELETE-then-POST again. It
    // still knows its model tunnel, so it subscribes to it and uses it as reply tunnel (§4.6, §6 item 4).
    const before = model.registrations.length
    await model.connect(gw.brokerUrl)
    const second = await model.register(EXAMPLE)
    const calls = model.registrations.slice(before)
    assert.deepEqual(
      calls.map((c) => [c.method, c.name, c.reply?.code, c.request.tunnel]),
      [
        ['delete', 'example', 200, first],
        ['delete', 'example-view', 200, first],
        ['post', 'example', 200, first],
      ],
    )
    assert.ok(second.model)
    assert.notEqual(second.model, first, 'a new tunnel [WP-21]')
    const rebound = core.components().find((c) => c.name === 'example')!
    assert.equal(rebound.online, true, 'online again [WP-44]')
    assert.notEqual(rebound.clientId, bound.clientId, 'bound to the new connection')

    const back = await caller.request('get', '/example')
    assert.deepEqual(back, {
      resource: '/example',
      method: 'get',
      data: { key: 'value' },
      id: back.id as number,
      code: 200,
      sign: ['example'],
    })
    assert.equal(model.inbox.all.at(-1)!.topic, second.model, 'the request came on the new tunnel')
  })

  test('[WP-43] a session waiting on a Python model that drops its connection ends at once with 503', async (t) => {
    const { core, python } = await setup(t)
    const model = await python()
    model.serve(() => new Promise(() => {})) // a handler that never returns
    await model.register(EXAMPLE)
    const caller = await python()
    const pending = caller.request('get', '/example')
    await waitFor(
      () => model.inbox.all.some((r) => r.message?.method === 'get'),
      TIMEOUT,
      'request at the model',
    )
    const start = performance.now()
    await model.close({ abrupt: true })
    const reply = await pending
    t.diagnostic(`503 ${(performance.now() - start).toFixed(1)} ms after the socket closed (model ttl 60 s)`)
    assert.deepEqual(reply, offline(reply.id as number, 'GET'))
    assert.equal(core.stats().sessions, 0)
  })

  test("[WP-27] two in-flight requests with the same Python id: 403 'id' was used", async (t) => {
    const { python } = await setup(t)
    const model = await python()
    let release: () => void = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    const id = pyRandomId()
    model.serve(async (request) => {
      if (request.id === id && model.inbox.all.filter((r) => r.message?.id === id).length === 1) await held
      return { data: { key: 'value' } }
    })
    await model.register(EXAMPLE)
    const a = await python()
    const b = await python()

    const first = a.request('get', '/example', null, { id })
    await waitFor(
      () => model.inbox.all.some((r) => r.message?.id === id),
      TIMEOUT,
      'first request at the model',
    )
    const second = await b.request('get', '/example', null, { id })
    assert.deepEqual(second, {
      id,
      code: 403,
      method: 'GET',
      resource: '/example',
      sign: ['controller'],
      data: { message: "'id' was used, please use another 'id'" },
    })
    release()
    assert.deepEqual(await first, {
      resource: '/example',
      method: 'get',
      data: { key: 'value' },
      id,
      code: 200,
      sign: ['example'],
    })
    assert.equal(model.inbox.all.filter((r) => r.message?.id === id).length, 1, 'the model got it once')
    assert.equal(a.inbox.all.filter((r) => r.message?.id === id).length, 1, 'the 403 went to b only')
    // once the session ended the id is free again
    assert.equal((await b.request('get', '/example', null, { id })).code, 200)
  })

  test('[WP-41][WP-39] the no-pause retry loop after a rejected POST is answered at most once per second', async (t) => {
    const { core, python } = await setup(t)
    const owner = await python()
    owner.serve(exampleModel())
    await owner.register({ ...EXAMPLE, name: 'owner' })
    // Two copies of the example bundle (a duplicate deployment), both looping DELETE, POST, DELETE, POST, …
    const copies = [await python(), await python()]
    const loops = copies.map((p) =>
      p.register(EXAMPLE).then(
        () => 'registered',
        (err: Error) => err.message,
      ),
    )
    await sleep(3200)
    for (const p of copies) await p.close()
    assert.deepEqual(await Promise.all(loops), [
      'peer closed during registration',
      'peer closed during registration',
    ])

    const posts = copies.flatMap((p) => p.registrations.filter((c) => c.method === 'post'))
    const rejected = posts.filter((c) => c.reply !== undefined).sort((x, y) => x.at - y.at)
    for (const c of rejected) {
      assert.deepEqual(c.reply, {
        id: c.request.id as number,
        code: 409,
        method: 'POST',
        resource: REGISTRATION,
        sign: ['controller'],
        data: { message: "resource '/example' is already provided by 'owner'" },
      })
    }
    const deletes = copies.flatMap((p) => p.registrations.filter((c) => c.method === 'delete'))
    assert.ok(
      deletes.every((c) => c.reply === undefined || c.reply.code === 200),
      'DELETEs of the unknown name: 200',
    )
    const gaps = rejected.slice(1).map((c, i) => c.at - rejected[i]!.at)
    t.diagnostic(`${posts.length} POSTs sent, ${rejected.length} rejections answered in 3.2 s`)
    t.diagnostic(`gaps between rejections (ms): ${gaps.map((g) => g.toFixed(0)).join(', ')}`)
    assert.ok(rejected.length >= 3, 'the loop keeps getting answers')
    for (const g of gaps)
      assert.ok(g >= 900, `rejections for one name at least 1 s apart (got ${g.toFixed(0)} ms)`)
    assert.ok(!core.components().some((c) => c.name === 'example'), 'nothing registered')
    assert.deepEqual(core.components().find((c) => c.name === 'owner')?.patterns, ['/example'])
  })

  test('[WP-38][WP-7] Python events reach views only, unchanged; a response with an unknown id is dropped', async (t) => {
    const { core, python, raw, exampleBundle } = await setup(t)
    const model = await exampleBundle()
    // A Python view bundle: it registers `watcher` (view) after deleting `watcher-model` (no resources).
    const watcher = await python()
    await watcher.register({
      name: 'watcher',
      description: 'observes /example',
      role: 'view',
      ttl: 60,
      resources: [{ resource: '/example' }],
    })
    assert.deepEqual(
      watcher.registrations.map((c) => [
        c.method,
        c.name,
        c.request.data && (c.request.data as JsonObject).role,
      ]),
      [
        ['delete', 'watcher-model', 'model'],
        ['delete', 'watcher', 'view'],
        ['post', 'watcher', 'view'],
      ],
    )
    const web = await raw()
    const view = await webLayer(web, core.instance)
    const emitter = await python()

    const event = await emitter.event('put', '/example', { key: 'e1', caller: { token: 'x' } })
    assert.deepEqual(
      emitter.sent.at(-1)!.payload,
      '{"resource": "/example", "method": "put", "code": 200, "data": {"key": "e1", "caller": {"token": "x"}}}',
    )
    assert.deepEqual(await web.nextMessage(view), event, 'the `/#` view gets it unchanged')
    await waitFor(() => watcher.events.length === 1, TIMEOUT, 'event at the Python view')
    assert.deepEqual(watcher.events[0], event, 'the Python view gets it as an EVENT, unchanged')

    // Marker: a direct request from the same publisher. Had the event reached the model, it would have come first.
    const marker = await emitter.request('get', '/example')
    assert.equal(marker.code, 200)
    assert.deepEqual(
      model.inbox.on(model.tunnels.model!).map((r) => r.message),
      [
        {
          resource: '/example',
          method: 'get',
          tunnel: emitter.internalTunnel,
          data: null,
          id: marker.id as number,
        },
      ],
      'the model saw the marker request only: models never get events',
    )
    assert.deepEqual(
      emitter.inbox.all.map((r) => r.message?.id),
      [marker.id],
      'events are never answered',
    )

    // [WP-7] a (late or stray) Python response with an id no session has: dropped, nobody hears of it.
    const late = core.stats().lateResponses
    const strayId = 424242
    await model.publish(
      pyResponse({ resource: '/example', method: 'get', data: null, id: strayId }, 'example', 200, {
        key: 'stray',
      }),
    )
    const marker2 = await model.event('put', '/example', { key: 'marker' })
    assert.deepEqual(
      await web.nextMessage(view),
      marker2,
      'next at the view is the marker event, not the stray',
    )
    await waitFor(() => watcher.events.length === 2, TIMEOUT, 'marker at the Python view')
    assert.deepEqual(watcher.events[1], marker2)
    assert.equal(core.stats().lateResponses, late + 1)
    assert.equal(web.inbox.on(view).length, 2)
    assert.equal(emitter.inbox.all.length, 1)
  })

  test('[WP-4] pretty-printed payloads (the original controller style) and compact ones are handled the same', async (t) => {
    /** One scenario; every message the peers receive, with tunnels and instance replaced by labels. */
    const run = async (indent: number | undefined) => {
      const { gw, core, python, raw } = await setup(t)
      let n = 1000
      const model = await python({ indent, ids: () => n++ })
      model.serve(exampleModel())
      await model.register(EXAMPLE)
      let m = 5000
      const caller = await python({ indent, ids: () => m++ })
      const web = await raw()
      await web.subscribe(WEB_TEMP)
      // the web layer's registration, re-encoded in the style under test
      for (const ex of exchanges('wire-registration.txt').filter(
        (e) => e.request.message.tunnel === WEB_TEMP,
      )) {
        await web.publish(pyDumps(ex.request.message, indent))
        await web.next(WEB_TEMP)
      }
      const view = (web.inbox.on(WEB_TEMP).at(-1)!.message!.data as JsonObject).tunnel as string
      await web.subscribe(view)

      await caller.request('put', '/example', { key: 'styled', ünï: 'cödé' })
      await caller.request('get', '/example?x=1&flag')
      await web.publish(pyDumps({ resource: '/example', method: 'get', data: {}, id: 7 }, indent))
      await web.next(view)
      await model.event('put', '/example', { key: 'ev' })
      await web.next(view)
      await model.publish(pyResponse({ resource: '/example', method: 'get', id: 99 }, 'example', 200, {}))
      await model.event('put', '/example', { key: 'marker' })
      await web.next(view)
      if (indent !== undefined) {
        assert.ok(
          model.sent.every((s) => s.payload.includes('\n    "')),
          'the model published pretty JSON',
        )
        assert.ok(
          caller.sent.every((s) => s.payload.includes('\n    "')),
          'the caller published pretty JSON',
        )
      }
      const labels: Array<[string, string]> = [
        [model.tunnels.model!, '<model>'],
        [model.internalTunnel, '<model-internal>'],
        [caller.internalTunnel, '<caller-internal>'],
        [view, '<view>'],
        [core.instance, '<instance>'],
      ]
      const received = [
        ...model.inbox.all.map((r) => ['model', r.topic, r.message]),
        ...caller.inbox.all.map((r) => ['caller', r.topic, r.message]),
        ...web.inbox.all.map((r) => ['web', r.topic, r.message]),
      ]
      let text = JSON.stringify(received)
      for (const [value, label] of labels)
        text = text.replaceAll(JSON.stringify(value), JSON.stringify(label))
      await gw.close()
      return JSON.parse(text) as unknown[]
    }
    const compact = await run(undefined)
    const pretty = await run(4)
    t.diagnostic(`${compact.length} messages received in each encoding`)
    assert.equal(compact.length, 3 + 3 + 2 + 5, 'model: 3 replies, 3 requests; caller: 2 replies; web: 5')
    assert.deepEqual(pretty, compact)
  })

  test('[WP-61] a Python model ignores the requestId the web service adds: same answer, the key only echoed', async (t) => {
    const { gw, exampleBundle } = await setup(t)
    const model = await exampleBundle()
    const call = (headers: Record<string, string>) =>
      fetch(`${gw.httpUrl}/api/v1/example`, { headers: { 'mx-api-token': gw.rootToken, ...headers } })
    const plain = await call({})
    const traced = await call({ 'x-request-id': 'py-trace-1' })
    assert.equal(traced.status, plain.status)
    assert.deepEqual(await traced.json(), await plain.json())
    assert.equal(traced.headers.get('x-request-id'), 'py-trace-1')
    const got = model.inbox.all.at(-1)?.message
    assert.equal(got?.requestId, 'py-trace-1', 'the key travels on the wire (§8.13)')
    const answer = model.sent.findLast((s) => s.message.id === got?.id && 'code' in s.message)
    assert.equal(answer?.message.code, 200)
    assert.equal(answer?.message.requestId, 'py-trace-1', 'Python copies request keys into its response (§6)')
  })
})
