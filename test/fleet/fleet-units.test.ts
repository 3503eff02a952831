/**
 * The fleet's parts in-process (issue 18, wire-protocol.md §8.14): topics, trust, presence, the directory, the
 * target side against a real controller core, the caller side, the `/remote/+` built-in.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CONFIG_SCHEMA } from '../../src/config/schema.ts'
import { FleetDirectory } from '../../src/fleet/directory.ts'
import { GATEWAY_ID_SOURCE, isGatewayId } from '../../src/fleet/gateway-id.ts'
import { fleetInbox, PRESENCE_RATE } from '../../src/fleet/inbox.ts'
import { type Presence, parsePresence } from '../../src/fleet/presence.ts'
import { remoteBuiltin } from '../../src/fleet/remote-builtin.ts'
import { type RemoteAnswer, RemoteCaller } from '../../src/fleet/remote-caller.ts'
import { RemoteServer } from '../../src/fleet/serve-remote.ts'
import { parseFleetTopic, subscriptionsOf } from '../../src/fleet/topics.ts'
import { parseTrust, trustRefusal } from '../../src/fleet/trust.ts'
import { uplinkBackoffMs } from '../../src/fleet/uplink.ts'
import { parseFleetRequest } from '../../src/fleet/wire.ts'
import { silentLogger } from '../../src/logger.ts'
import type { Envelope, Json } from '../../src/protocol/index.ts'
import { mapRequest } from '../../src/web/map-resource.ts'
import { Harness } from '../helpers/controller-harness.ts'

function presence(id: string, over: Partial<Presence> = {}): Presence {
  return { id, state: 'online', version: '0.1.0', hub: false, startedAt: 1, at: 2, bundles: [], ...over }
}

test('[WP-65] fleet topics: the first id level is the publisher; anything else is not a fleet topic', () => {
  assert.deepEqual(parseFleetTopic('/fleet/cg-a/req/cg-b'), { kind: 'req', from: 'cg-a', to: 'cg-b' })
  assert.deepEqual(parseFleetTopic('/fleet/cg-b/res/cg-a'), { kind: 'res', from: 'cg-b', to: 'cg-a' })
  assert.deepEqual(parseFleetTopic('/fleet/cg-a/presence'), { kind: 'presence', from: 'cg-a' })
  for (const bad of [
    '/fleet/cg-a/req/cg-b/x',
    '/fleet/a/req/cg-b',
    '/fleet/cg-a/req/+',
    '/fleet/cg-a/other/cg-b',
    'fleet/cg-a/presence',
    `/fleet/cg-${'x'.repeat(65)}/presence`,
    '/controller',
  ])
    assert.equal(parseFleetTopic(bad), undefined, bad)
  assert.deepEqual(subscriptionsOf('cg-a'), ['/fleet/+/presence', '/fleet/+/req/cg-a', '/fleet/+/res/cg-a'])
})

test('gateway ids: the config schema and the §7 URL mapping agree with the fleet', () => {
  type Props = { properties: Record<string, { properties: Record<string, { pattern?: string }> }> }
  const schema = (CONFIG_SCHEMA as Props).properties.fleet?.properties.localId?.pattern
  assert.equal(schema, `^(|${GATEWAY_ID_SOURCE})$`)
  for (const id of ['cg-1234', 'cg-a_B', `cg-${'z'.repeat(64)}`]) {
    assert.ok(isGatewayId(id), id)
    assert.equal(mapRequest(`/${id}/x`, 'GET', undefined).resource, `/remote/${id}`)
  }
  for (const id of ['cg-', 'cg-a-b', 'cg-a/b', 'x-1', `cg-${'z'.repeat(65)}`])
    assert.equal(isGatewayId(id), false)
})

test('[WP-68] trust: unlisted callers are refused, read callers only read', () => {
  const trust = parseTrust('cg-hub=readwrite,cg-2=read')
  assert.equal(trustRefusal(trust, 'cg-hub', 'PUT'), undefined)
  assert.equal(trustRefusal(trust, 'cg-2', 'get'), undefined)
  assert.equal(trustRefusal(trust, 'cg-2', 'delete'), 'read-only')
  assert.equal(trustRefusal(trust, 'cg-3', 'get'), 'untrusted')
  assert.equal(trustRefusal(parseTrust(''), 'cg-hub', 'get'), 'untrusted')
})

test('[WP-66] presence: a field out of type or a foreign id drops the whole presence', () => {
  const ok = presence('cg-a', {
    bundles: [{ name: 'x', role: 'model', ttlSec: 5, online: true, resources: ['/x'] }],
  })
  assert.deepEqual(parsePresence('cg-a', ok as unknown as Envelope), ok)
  assert.equal(parsePresence('cg-b', ok as unknown as Envelope), undefined, 'the topic names the publisher')
  for (const bad of [
    { ...ok, state: 'maybe' },
    { ...ok, startedAt: -1 },
    { ...ok, bundles: [{ name: 'x', role: 'model', ttlSec: 5, online: true, resources: [1] }] },
    { ...ok, bundles: Array.from({ length: 1025 }, () => ok.bundles[0]) },
  ])
    assert.equal(
      parsePresence('cg-a', bad as unknown as Envelope),
      undefined,
      JSON.stringify(bad).slice(0, 80),
    )
})

test('[WP-66] directory: last seen, the ttl of a remote resource, peers not re-announced after a reconnect', () => {
  let now = 1000
  const d = new FleetDirectory(() => now)
  const changes: string[] = []
  d.onChange((c, p) => changes.push(`${p.id}:${c}`))
  d.update(
    presence('cg-a', {
      bundles: [
        { name: 'slow', role: 'model', ttlSec: 90, online: true, resources: ['/slow/#'] },
        { name: 'fast', role: 'model', ttlSec: 3, online: true, resources: ['/fast'] },
      ],
    }),
  )
  assert.equal(d.ttlSecFor('cg-a', '/fast?x=1'), 3)
  assert.equal(d.ttlSecFor('cg-a', '/slow/1'), 90)
  assert.equal(d.ttlSecFor('cg-a', '/none'), 90, 'no match: the largest of its models')
  assert.equal(d.ttlSecFor('cg-zz', '/x'), 60)
  now = 5000
  d.update(presence('cg-a', { state: 'offline', at: 1500 }))
  assert.deepEqual(d.get('cg-a'), { online: false, lastSeen: 5000 }, 'seen online until the will arrived')
  d.update(presence('cg-old', { state: 'offline', at: 700 }))
  assert.equal(d.get('cg-old')?.lastSeen, 700, 'only ever seen offline: the time of its last connect')
  d.update(presence('cg-b'))
  now = 9000
  d.expireBefore(8000)
  assert.deepEqual(d.get('cg-b'), { online: false, lastSeen: 5000 })
  assert.deepEqual(changes, ['cg-a:online', 'cg-a:offline', 'cg-old:offline', 'cg-b:online', 'cg-b:offline'])
})

test('[WP-67] fleet requests: checked where they enter; only a valid id is answered', () => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o))
  assert.deepEqual(parseFleetRequest(enc({ id: 7, method: 'GET', resource: '/x' }), 64), {
    ok: true,
    request: { id: 7, method: 'get', resource: '/x', data: {} },
  })
  assert.equal(
    (parseFleetRequest(enc({ id: 0, method: 'get', resource: '/x' }), 64) as { id: unknown }).id,
    undefined,
  )
  const badMethod = parseFleetRequest(enc({ id: 8, method: 'patch', resource: '/x' }), 64)
  assert.equal(badMethod.ok, false)
  assert.equal((badMethod as { id: number }).id, 8)
  assert.equal(parseFleetRequest(enc({ id: 9, method: 'get', resource: 'x' }), 64).ok, false)
  let deep: unknown = 1
  for (let i = 0; i < 100; i++) deep = [deep]
  const tooDeep = parseFleetRequest(enc({ id: 10, method: 'get', resource: '/x', data: deep }), 64)
  assert.deepEqual([tooDeep.ok, (tooDeep as { id: number }).id], [false, 10])
})

function targetSide(trust: string) {
  const h = new Harness()
  h.register('thing', { resources: ['/thing'] })
  const replies: Array<{ to: string; msg: Envelope }> = []
  const server = new RemoteServer({
    localId: 'cg-t',
    core: h.core,
    trust: parseTrust(trust),
    reply: (to, payload) => replies.push({ to, msg: JSON.parse(payload) as Envelope }),
    log: silentLogger(),
    maxInFlight: 2,
    jsonDepth: 64,
  })
  return { h, server, replies }
}

test('[WP-68] the target refuses before its controller sees anything; admitted calls carry caller fleet:<id>', async () => {
  const { h, server, replies } = targetSide('cg-r=read,cg-w=readwrite')
  const req = (o: unknown) => Buffer.from(JSON.stringify(o))
  const before = h.core.stats().requests
  server.handle('cg-x', req({ id: 1, method: 'get', resource: '/thing' }))
  server.handle('cg-r', req({ id: 2, method: 'put', resource: '/thing', data: {} }))
  server.handle('cg-w', req({ id: 3, method: 'post', resource: '/controller/registration', data: {} }))
  server.handle('cg-w', req({ id: 4, method: 'get', resource: '/remote/cg-y' }))
  assert.equal(h.core.stats().requests, before, 'nothing reached the controller')
  assert.deepEqual(
    replies.map((r) => [r.to, r.msg.id, r.msg.code, (r.msg.data as { code: string }).code]),
    [
      ['cg-x', 1, 403, 'GW_ERR_FLEET_UNTRUSTED'],
      ['cg-r', 2, 403, 'GW_ERR_FLEET_SCOPE'],
      ['cg-w', 3, 403, 'GW_ERR_FLEET_SCOPE'],
      ['cg-w', 4, 403, 'GW_ERR_FLEET_SCOPE'],
    ],
  )
  replies.length = 0
  server.handle('cg-r', req({ id: 5, method: 'get', resource: '/thing?q=1' }))
  const toBundle = h.one(h.tunnel('thing'))
  assert.deepEqual(toBundle.caller, { token: 'fleet:cg-r', scope: 'read' })
  h.answer(toBundle, 200, { v: 1 }, 'thing')
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(replies, [{ to: 'cg-r', msg: { id: 5, code: 200, sign: ['cg-t'], data: { v: 1 } } }])
  replies.length = 0
  server.handle('cg-w', req({ id: 6, method: 'get', resource: '/nothing' }))
  await new Promise((r) => setImmediate(r))
  assert.equal(replies[0]?.msg.code, 404, 'answered as the web service maps it (§8.5)')
  assert.equal(
    (replies[0]?.msg.data as unknown as { code: string } | undefined)?.code,
    'GW_ERR_ROUTE_NOT_FOUND',
  )
})

test('[WP-67] the caller accepts an answer only from the gateway asked; offline and uplink loss end calls at once', async () => {
  const d = new FleetDirectory()
  d.update(
    presence('cg-b', { bundles: [{ name: 'x', role: 'model', ttlSec: 0, online: true, resources: ['/x'] }] }),
  )
  const sent: Array<{ target: string; payload: string }> = []
  let up = true
  const caller = new RemoteCaller({
    localId: 'cg-a',
    directory: d,
    send: (target, payload) => {
      sent.push({ target, payload })
      return up
    },
    connected: () => up,
    linkBudgetMs: 50,
    maxInFlight: 8,
  })
  const p = caller.call('cg-b', 'get', '/x', {})
  const id = (JSON.parse(sent[0]?.payload as string) as { id: number }).id
  assert.equal(caller.reply('cg-c', { id, code: 200, data: { forged: true } }), false, 'not from cg-b')
  assert.equal(caller.reply('cg-b', { id, code: 200, data: { v: 2 } }), true)
  assert.deepEqual(await p, { code: 200, data: { v: 2 } })
  const timedOut = await caller.call('cg-b', 'get', '/x', {})
  assert.equal(timedOut.code, 504, 'ttl 0 s + 50 ms link budget')
  assert.equal((timedOut.data as { code: string }).code, 'GW_ERR_FLEET_TIMEOUT')
  const pending = caller.call('cg-b', 'get', '/x', {})
  d.update(presence('cg-b', { state: 'offline' }))
  const off = (await pending) as RemoteAnswer & { data: { code: string; lastSeen: string } }
  assert.deepEqual(
    [off.code, off.data.code, typeof off.data.lastSeen],
    [503, 'GW_ERR_FLEET_OFFLINE', 'string'],
  )
  const unknown = await caller.call('cg-q', 'get', '/x', {})
  assert.equal((unknown.data as { code: string }).code, 'GW_ERR_FLEET_UNKNOWN')
  d.update(presence('cg-b'))
  const lost = caller.call('cg-b', 'get', '/x', {})
  up = false
  caller.uplinkLost('test')
  assert.equal(((await lost).data as { code: string }).code, 'GW_ERR_FLEET_UPLINK_DOWN')
  assert.equal(caller.inFlight, 0)
})

test('[WP-69] the /remote/+ built-in nests the answer, for in-process and MQTT callers alike', async () => {
  const h = new Harness()
  const calls: string[] = []
  h.core.addBuiltin(
    'fleet',
    ['/remote/+'],
    remoteBuiltin(async (target, method, resource, data: Json) => {
      calls.push(`${target} ${method} ${resource}`)
      return { code: 201, data: { echoed: data } }
    }),
    615,
  )
  const o = await h.core.request({
    method: 'put',
    resource: '/remote/cg-b',
    data: { resource: '/thing', method: 'PUT', data: { a: 1 } },
  })
  assert.deepEqual(
    [o.kind, o.message.code, o.message.data],
    ['answer', 200, { code: 201, data: { echoed: { a: 1 } } }],
  )
  h.send({
    id: 42,
    method: 'get',
    resource: '/remote/cg-b',
    data: { resource: '/t', method: 'get' },
    tunnel: 'mine',
  })
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(h.one('mine').data, { code: 201, data: { echoed: {} } })
  const sneaky = await h.core.request({
    method: 'get',
    resource: '/remote/cg-b',
    data: { resource: '/thing', method: 'put', data: {} },
  })
  assert.equal((sneaky.message.data as { code: number }).code, 400, 'a GET carrying a PUT')
  const readToken = await h.core.request({
    method: 'put',
    resource: '/remote/cg-b',
    data: { resource: '/thing', method: 'put' },
    caller: { token: 't1', scope: 'read' },
  })
  assert.equal((readToken.message.data as { code: number }).code, 403)
  const notAnId = await h.core.request({
    method: 'get',
    resource: '/remote/nope',
    data: { resource: '/', method: 'get' },
  })
  assert.equal((notAnId.message.data as { code: number }).code, 400)
  assert.deepEqual(calls, ['cg-b put /thing', 'cg-b get /t'])
})

test('uplink backoff: 250 ms doubling to 30 s, ±20 %', () => {
  assert.equal(
    uplinkBackoffMs(0, () => 0.5),
    250,
  )
  assert.equal(
    uplinkBackoffMs(3, () => 0.5),
    2000,
  )
  assert.equal(
    uplinkBackoffMs(40, () => 1),
    36_000,
  )
  assert.equal(
    uplinkBackoffMs(40, () => 0),
    24_000,
  )
})

test('[WP-68] fleet.maxInFlight bounds what one caller has in flight on the target; more answers 503 at once', () => {
  const { h, server, replies } = targetSide('cg-w=readwrite,cg-v=readwrite')
  const req = (id: number) => Buffer.from(JSON.stringify({ id, method: 'get', resource: '/thing' }))
  server.handle('cg-w', req(1))
  server.handle('cg-w', req(2))
  server.handle('cg-w', req(3)) // the model never answers: two are in flight
  server.handle('cg-v', req(4)) // another caller has its own allowance
  assert.deepEqual(
    replies.map((r) => [r.to, r.msg.id, r.msg.code, (r.msg.data as { code: string }).code]),
    [['cg-w', 3, 503, 'GW_ERR_FLEET_BUSY']],
  )
  assert.equal(h.take(h.tunnel('thing')).length, 3)
})

test('[WP-66] a flood of inventory updates from one peer is rate-limited; its will still gets through', () => {
  const d = new FleetDirectory()
  const changes: string[] = []
  d.onChange((c) => changes.push(c))
  const unused = {} as never
  const inbox = fleetInbox({
    server: unused,
    caller: unused,
    directory: d,
    log: silentLogger(),
    jsonDepth: 64,
  })
  const p = (state: string) => Buffer.from(JSON.stringify(presence('cg-p', { state } as Partial<Presence>)))
  for (let i = 0; i < 200; i++) inbox('/fleet/cg-p/presence', p('online'))
  assert.equal(changes[0], 'online')
  assert.ok(changes.length <= 1 + PRESENCE_RATE.burst + 1, `${changes.length} updates taken`)
  inbox('/fleet/cg-p/presence', p('offline'))
  assert.equal(changes.at(-1), 'offline')
  assert.equal(d.get('cg-p')?.online, false)
  inbox('/fleet/cg-q/presence', Buffer.from(JSON.stringify(presence('cg-p'))))
  assert.equal(d.get('cg-q'), undefined, 'a presence naming another id than its topic')
})
