/**
 * End to end against a real external broker: mosquitto on a free loopback port, the gateway in external mode (no
 * embedded broker), the example bundle as a real process. Skipped when mosquitto is not installed, except in CI
 * (CI=true), where .ci/run installs it and its absence is a failure.
 */
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, type TestContext, test } from 'node:test'
import type { Envelope, Json } from '../../src/protocol/index.ts'
import type { Gateway } from '../../src/server.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import {
  copyExampleDir,
  type ExampleProcess,
  type Mosquitto,
  mqttCall,
  spawnExample,
  startMosquitto,
  within,
} from '../helpers/processes.ts'

const TEST_TIMEOUT_MS = 40_000
/** How long the controller and the bundle get to come back after a broker restart. */
const RECOVERY_LIMIT_MS = 25_000

describe('against a real mosquitto (external broker)', () => {
  const cleanup = lifo({ after })
  let mosquitto: Mosquitto | undefined
  let gateway: Gateway
  let dir: string
  let bundle: ExampleProcess | undefined

  const component = () => gateway.controller.core.components().find((c) => c.name === 'example')
  const onDisk = async (): Promise<unknown> =>
    JSON.parse(await readFile(join(dir, 'data', 'example.json'), 'utf8'))

  /** False (test skipped, or failed in CI) when there is no mosquitto. */
  function present(t: TestContext): boolean {
    if (mosquitto) return true
    if (process.env.CI === 'true') assert.fail('mosquitto not installed (CI must install it: see .ci/run)')
    t.skip('mosquitto not installed')
    return false
  }

  async function startBundle(): Promise<number> {
    assert.ok(mosquitto)
    const b = spawnExample({ brokerUrl: mosquitto.url, dir })
    bundle = b
    cleanup(() => b.stop())
    await b.ready
    return Date.now() - b.spawnedAt
  }

  /** In-process request, bounded (a request to a dead tunnel would otherwise wait out the 60 s ttl). */
  async function local(method: string, resource: string, data?: Json, ms = 5000): Promise<Envelope> {
    const outcome = await within(
      gateway.controller.core.request(data === undefined ? { method, resource } : { method, resource, data }),
      ms,
      `the in-process answer to ${method} ${resource}`,
    )
    return outcome.message
  }

  async function remote(method: string, resource: string, data?: Json, ms = 5000): Promise<Envelope> {
    assert.ok(mosquitto)
    return mqttCall(mosquitto.url, method, resource, data, { timeoutMs: ms })
  }

  before(async () => {
    mosquitto = await startMosquitto()
    if (!mosquitto) return
    const m = mosquitto
    cleanup(async () => {
      await m.close()
    })
    dir = await copyExampleDir()
    cleanup(() => rm(dir, { recursive: true, force: true }))
  })

  test('the gateway in external mode starts no embedded broker and connects to mosquitto', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t) || !mosquitto) return
    const started = Date.now()
    gateway = await startTestGateway({ url: mosquitto.url })
    cleanup(() => gateway.close())
    t.diagnostic(`gateway connected to mosquitto in ${Date.now() - started} ms`)
    assert.equal(gateway.broker, undefined)
    assert.equal(gateway.brokerUrl, mosquitto.url)
    assert.equal(gateway.controller.connected, true)
  })

  test('[WP-47] the example bundle registers through mosquitto, bound to its MQTT client id', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t)) return
    const ms = await startBundle()
    t.diagnostic(`spawn to "Register successfully": ${ms} ms`)
    const c = component()
    assert.ok(c, 'component example is listed')
    assert.equal(c.role, 'model')
    assert.equal(c.online, true)
    assert.deepEqual(c.patterns, ['/example'])
    assert.match(c.clientId ?? '', /^bg-[0-9a-f]{16}$/, 'bound through data.clientId')
  })

  test('GET and PUT /example answer 200, over MQTT and in-process', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t)) return
    for (const answer of [await local('get', '/example'), await remote('get', '/example')]) {
      assert.equal(answer.code, 200)
      assert.deepEqual(answer.data, { key: 'value' })
    }
    const put1 = await local('put', '/example', { key: 'v1' })
    assert.equal(put1.code, 200)
    assert.deepEqual(await onDisk(), { key: 'v1' })
    const put2 = await remote('put', '/example', { key: 'v2' })
    assert.equal(put2.code, 200)
    assert.deepEqual(put2.data, { key: 'v2' })
    assert.deepEqual(await onDisk(), { key: 'v2' })
    assert.equal((await remote('put', '/example', 'not an object')).code, 400)
  })

  test("[WP-42][WP-47] after kill -9 the bundle's will reaches the controller: 503 offline, not a timeout", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t)) return
    const b = bundle
    assert.ok(b)
    b.kill('SIGKILL')
    await b.exited
    const killed = Date.now()
    await waitFor(() => component()?.online === false, 3000, 'the will to mark example offline')
    t.diagnostic(`exit to offline (mosquitto published the will): ${Date.now() - killed} ms`)

    let started = Date.now()
    const viaMqtt = await remote('get', '/example')
    t.diagnostic(`MQTT request to the dead bundle: ${viaMqtt.code} in ${Date.now() - started} ms`)
    started = Date.now()
    const inProcess = await local('put', '/example', { key: 'lost' })
    t.diagnostic(`in-process request to the dead bundle: ${inProcess.code} in ${Date.now() - started} ms`)
    for (const answer of [viaMqtt, inProcess]) {
      assert.notEqual(answer.code, 408)
      assert.equal(answer.code, 503)
      assert.deepEqual(answer.data, { message: "bundle 'example' is offline" })
    }
    assert.deepEqual(await onDisk(), { key: 'v2' })
  })

  test('[WP-44] the restarted bundle is online again and answers 200', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t)) return
    const ms = await startBundle()
    t.diagnostic(`spawn to registration: ${ms} ms`)
    assert.equal(component()?.online, true)
    for (const answer of [await local('get', '/example'), await remote('get', '/example')]) {
      assert.equal(answer.code, 200)
      assert.deepEqual(answer.data, { key: 'v2' })
    }
  })

  /** Polls GET /example over MQTT until 200; returns the ms from `since`. */
  async function recover(since: number): Promise<number> {
    const deadline = since + RECOVERY_LIMIT_MS
    let last = 'nothing yet'
    while (Date.now() < deadline) {
      try {
        const answer = await remote('get', '/example', undefined, 1000)
        if (answer.code === 200) return Date.now() - since
        last = `code ${answer.code} ${JSON.stringify(answer.data)}`
      } catch (err) {
        last = (err as Error).message
      }
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.fail(`no 200 within ${RECOVERY_LIMIT_MS} ms after the broker came back; last: ${last}`)
  }

  async function checkRecovered(t: TestContext, upAt: number, label: string): Promise<void> {
    const ms = await recover(upAt)
    t.diagnostic(`${label}: broker up to first 200 over MQTT: ${ms} ms`)
    const registrations = bundle?.output().match(/Register successfully/g)?.length ?? 0
    t.diagnostic(`${label}: the bundle process has registered ${registrations} times so far`)
    await waitFor(() => gateway.controller.connected, 5000, 'the controller to reconnect')
    const get = await local('get', '/example')
    assert.equal(get.code, 200)
    assert.deepEqual(get.data, { key: 'v2' })
    const put = await remote('put', '/example', { key: `after ${label}` })
    assert.equal(put.code, 200)
    assert.deepEqual(await onDisk(), { key: `after ${label}` })
    const back = await local('put', '/example', { key: 'v2' })
    assert.equal(back.code, 200)
    assert.equal(component()?.online, true)
    assert.equal(bundle?.child.exitCode, null, 'the bundle process kept running')
  }

  test('[WP-44] after a mosquitto restart the controller and the bundle reconnect by themselves', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t) || !mosquitto) return
    const downAt = Date.now()
    await mosquitto.stop()
    await waitFor(() => !gateway.controller.connected, 5000, 'the controller to notice the broker is gone')
    await mosquitto.restart()
    const upAt = Date.now()
    t.diagnostic(`broker down for ${upAt - downAt} ms (stop + start on port ${mosquitto.port})`)
    await checkRecovered(t, upAt, 'restart')
  })

  test('[WP-44] after kill -9 of mosquitto and a new start they reconnect by themselves too', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    if (!present(t) || !mosquitto) return
    await mosquitto.kill9()
    await waitFor(() => !gateway.controller.connected, 5000, 'the controller to notice the broker is gone')
    await mosquitto.restart()
    await checkRecovered(t, Date.now(), 'kill -9')
  })
})
