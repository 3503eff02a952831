/**
 * Red team, issue 12 part 1: JSON nested thousands of levels deep (wire-protocol.md §8.9). The gateway runs as its
 * own process (`bundlegate start`), the example bundle as another, so that a crash shows as a dead process and not
 * as a killed test runner. Before the depth budget:
 * - one 12 KB MQTT message whose `data` is an array nested 6,000 deep, published on `/controller` as an event, a
 *   request or a registration, killed the whole gateway (`RangeError: Maximum call stack size exceeded` in
 *   JSON.stringify);
 * - a 10 KB HTTP PUT body nested 5,000 deep answered 500 and left the resource locked for the bundle's ttl; a second
 *   one queued behind it killed the process when the first expired;
 * - a request nested deep sent straight to a bundle's tunnel (possible on loopback, where there is no ACL) killed
 *   the bundle;
 * - a WebSocket message nested 8,000 deep (16 KB, within the message limit) killed the gateway in the error answer.
 * Each case runs without broker authentication (loopback: any process) and with it (any bundle credential).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { BrokerCredentialStore } from '../../src/broker/index.ts'
import { openWs } from '../helpers/events.ts'
import { lifo } from '../helpers/gateway.ts'
import { type GatewayProcess, startGatewayProcess } from '../helpers/gateway-child.ts'
import {
  copyExampleDir,
  type ExampleProcess,
  mqttConnect,
  requestId,
  spawnExample,
  within,
} from '../helpers/processes.ts'

/** The example bundle's ttl in these tests: short, so that an expiring lock is seen within the test. */
const TTL_SEC = 2

const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n)

async function http(
  gw: GatewayProcess,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.httpUrl}/api/v1${path}`, {
    method,
    headers: {
      'mx-api-token': gw.rootToken,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await res.text()
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> }
}

/** A normal request through the real bundle still answers 200. */
async function stillAnswers(gw: GatewayProcess, bundle: ExampleProcess, when: string): Promise<void> {
  gw.assertAlive(when)
  assert.equal(bundle.child.exitCode ?? bundle.child.signalCode, null, `the bundle died ${when}`)
  const r = await http(gw, 'GET', '/example')
  assert.equal(r.status, 200, `GET /example ${when}: ${JSON.stringify(r.body)}`)
}

/** Publishes `payload` on `topic` and waits for the message on `tunnel` with `id`. */
async function publishAndAwait(
  client: MqttClient,
  tunnel: string,
  id: number,
  payload: string,
  topic = '/controller',
): Promise<Record<string, unknown>> {
  const answer = new Promise<Record<string, unknown>>((resolve) => {
    const onMessage = (t: string, p: Buffer) => {
      if (t !== tunnel) return
      const m = JSON.parse(p.toString()) as Record<string, unknown>
      if (m.id !== id) return
      client.off('message', onMessage)
      resolve(m)
    }
    client.on('message', onMessage)
  })
  return within(
    client.publishAsync(topic, payload, { qos: 1 }).then(() => answer),
    10_000,
    `the answer to id ${id} on ${tunnel}`,
  )
}

async function attacker(gw: GatewayProcess, credentials: { username: string; password: string } | undefined) {
  const c = await mqttConnect(gw.brokerUrl, credentials ?? {})
  if (!('client' in c)) assert.fail(`the attacker's CONNECT was refused (CONNACK ${c.refused})`)
  const tunnel = randomBytes(16).toString('hex')
  await c.client.subscribeAsync(tunnel, { qos: 1 })
  return { client: c.client, tunnel }
}

async function nestingScenario(t: import('node:test').TestContext, auth: boolean): Promise<void> {
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-nesting-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const gw = await startGatewayProcess(dataDir, auth, defer)
  let creds: { example?: Record<string, string>; intruder?: { username: string; password: string } } = {}
  if (auth) {
    // issued while the gateway runs, as `bundlegate broker-credentials create` does
    const store = BrokerCredentialStore.open(dataDir)
    const e = store.create('example')
    const i = store.create('intruder')
    store.close()
    creds = {
      example: { BROKER_USERNAME: e.username, BROKER_PASSWORD: e.password },
      intruder: { username: i.username, password: i.password },
    }
  }
  const bundleDir = await copyExampleDir()
  defer(() => rm(bundleDir, { recursive: true, force: true }))
  const manifest = JSON.parse(await readFile(join(bundleDir, 'bundle.json'), 'utf8')) as { ttl: number }
  manifest.ttl = TTL_SEC
  await writeFile(join(bundleDir, 'bundle.json'), JSON.stringify(manifest))

  // without authentication the attacker may watch everything: it learns the example's tunnel from the registration
  const { client, tunnel } = await attacker(gw, creds.intruder)
  defer(() => client.end(true))
  let exampleTunnel: string | undefined
  if (!auth) {
    await client.subscribeAsync('#', { qos: 0 })
    client.on('message', (_topic, p) => {
      try {
        const m = JSON.parse(p.toString()) as {
          code?: number
          resource?: string
          data?: { tunnel?: unknown }
        }
        if (m.code === 200 && m.resource === '/controller/registration' && typeof m.data?.tunnel === 'string')
          exampleTunnel = m.data.tunnel
      } catch {}
    })
  }
  const bundle = spawnExample({ brokerUrl: gw.brokerUrl, dir: bundleDir, env: creds.example ?? {} })
  defer(() => bundle.stop())
  await bundle.ready
  await stillAnswers(gw, bundle, 'at start')

  const deep = deepArray(6000)
  await t.test('a 12 KB event whose data is nested 6,000 deep: the gateway stays up', async () => {
    const payload = `{"method":"put","resource":"/example","data":${deep}}`
    assert.ok(payload.length > 12_000 && payload.length < 12_100)
    await client.publishAsync('/controller', payload, { qos: 1 })
    await new Promise((r) => setTimeout(r, 300))
    await stillAnswers(gw, bundle, 'after the deep event')
  })

  await t.test(
    '[WP-59] a request nested 6,000 deep with a tunnel is answered 400 payload too deep',
    async () => {
      const id = requestId()
      const payload = `{"id":${id},"method":"put","resource":"/example","tunnel":"${tunnel}","data":${deep}}`
      const reply = await publishAndAwait(client, tunnel, id, payload)
      assert.equal(reply.code, 400)
      assert.deepEqual(reply.data, {
        message: 'payload too deep',
        log: 'payload nests 6000 levels deep, over the limit of 64',
      })
      await stillAnswers(gw, bundle, 'after the deep request')
    },
  )

  await t.test('[WP-59] a registration nested 6,000 deep is answered 400 and registers nothing', async () => {
    const id = requestId()
    const data = `{"name":"intruder","role":"model","ttl":5,"resources":${deep}}`
    const payload = `{"id":${id},"method":"post","resource":"/controller/registration","tunnel":"${tunnel}","data":${data}}`
    const reply = await publishAndAwait(client, tunnel, id, payload)
    assert.equal(reply.code, 400)
    assert.equal((reply.data as { message?: string }).message, 'payload too deep')
    const bundles = await http(gw, 'GET', '/bundles')
    assert.doesNotMatch(JSON.stringify(bundles.body), /intruder/)
    await stillAnswers(gw, bundle, 'after the deep registration')
  })

  await t.test(
    'two 10 KB PUT bodies nested 5,000 deep, one queued behind the other: two 400s, no lock left',
    async () => {
      const body = deepArray(5000)
      const [a, b] = await Promise.all([http(gw, 'PUT', '/example', body), http(gw, 'PUT', '/example', body)])
      for (const r of [a, b]) {
        assert.equal(r.status, 400, JSON.stringify(r.body))
        assert.equal(r.body.code, 'GW_ERR_JSON_TOO_DEEP')
        assert.match(String(r.body.message), /nests 5000 levels deep, over the limit of 64/)
      }
      // a normal write is not held up by a lock: neither PUT reached the controller
      const put = await http(gw, 'PUT', '/example', '{"key":"after the deep PUTs"}')
      assert.equal(put.status, 200, JSON.stringify(put.body))
      // and past the ttl, where the queued deep write used to kill the process, everything still answers
      await new Promise((r) => setTimeout(r, TTL_SEC * 1000 + 500))
      await stillAnswers(gw, bundle, 'after the ttl of the deep PUTs')
    },
  )

  await t.test(
    'a 16 KB WebSocket message nested 8,000 deep answers an error message; the connection and the gateway stay',
    async () => {
      const ws = await openWs(`${gw.httpUrl.replace(/^http/, 'ws')}/api/v1/ws`, {
        'mx-api-token': gw.rootToken,
      })
      try {
        // the unknown `type` used to be quoted back with JSON.stringify
        ws.send(`{"type":${deepArray(8000)}}`)
        const e = await ws.next((m) => m.type === 'error')
        assert.equal(e.code, 'GW_ERR_JSON_TOO_DEEP')
        assert.match(String(e.message), /nests 8000 levels deep, over the limit of 64/)
        ws.send({ type: 'ping' })
        await ws.next((m) => m.type === 'pong')
      } finally {
        await ws.close()
      }
      await stillAnswers(gw, bundle, 'after the deep WebSocket message')
    },
  )

  if (!auth) {
    await t.test(
      'a request nested 6,000 deep sent straight to the bundle’s tunnel: the bundle answers 400 and lives',
      async () => {
        assert.ok(exampleTunnel, 'the example’s tunnel was seen')
        const id = requestId()
        // to an unknown route, whose 404 used to echo the deep field (the SDK's answer copies unknown keys)
        const payload = `{"id":${id},"method":"get","resource":"/nowhere","tunnel":"${tunnel}","extra":${deep}}`
        const reply = await publishAndAwait(client, '/controller', id, payload, exampleTunnel).catch(
          async (err: Error) => {
            await new Promise((r) => setTimeout(r, 200))
            assert.equal(
              bundle.child.exitCode ?? bundle.child.signalCode,
              null,
              `the bundle died:\n${bundle.output().slice(-3000)}`,
            )
            throw err
          },
        )
        assert.equal(reply.code, 400)
        assert.equal((reply.data as { message?: string }).message, 'payload too deep')
        assert.deepEqual(reply.sign, ['example'])
        await new Promise((r) => setTimeout(r, 200))
        await stillAnswers(gw, bundle, 'after the deep request to its tunnel')
      },
    )
  }
  gw.assertAlive('at the end')
}

test(
  'issue 12 red team: JSON nested thousands deep over MQTT and HTTP, broker authentication off (loopback)',
  {
    timeout: 120_000,
  },
  (t) => nestingScenario(t, false),
)

test(
  'issue 12 red team: the same with broker authentication on, the attacker holding a bundle credential',
  {
    timeout: 120_000,
  },
  (t) => nestingScenario(t, true),
)
