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
/** The repeated-outage test: how many restarts, how long each may take to recover, how often it probes. */
const OUTAGES = 5
const OUTAGE_RECOVERY_LIMIT_MS = 10_000
const PROBE_EVERY_MS = 25
/** Per probe; probes overlap, so this bounds nothing but the number of open requests. */
const PROBE_TIMEOUT_MS = 1500

describe('against a real mosquitto (external broker)', () => {
  const cleanup = lifo({ after })
  let mosquitto: Mosquitto | undefined
  let gateway: Awaited<ReturnType<typeof startTestGateway>>
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

  /**
   * Recovery time through the gateway: from the moment mosquitto accepts connections again to the first HTTP 200 for
   * GET /api/v1/example sent once the bundle's registration has been rebuilt (registered after `downWall`). A 200
   * through the old registration (the bundle resubscribes its old tunnel before it registers again) is printed but
   * is not the recovery. A probe starts every PROBE_EVERY_MS without waiting for the previous ones (a request routed
   * to a tunnel nobody listens on would otherwise hide everything behind it), so the number is exact to
   * PROBE_EVERY_MS. Fails when no such 200 comes within OUTAGE_RECOVERY_LIMIT_MS.
   */
  async function firstHttp200(
    since: number,
    downWall: number,
  ): Promise<{ ms: number; anyMs: number | undefined; before: Map<string, number> }> {
    const before = new Map<string, number>()
    const count = (k: string) => before.set(k, (before.get(k) ?? 0) + 1)
    let okAt: number | undefined
    let anyOkAt: number | undefined
    const probes: Array<Promise<void>> = []
    const probe = async () => {
      const rebuilt = (component()?.registeredAt ?? 0) >= downWall
      const status = await within(
        gateway.http
          .inject({ method: 'GET', url: '/api/v1/example', headers: { 'mx-api-token': gateway.rootToken } })
          .then((r) => r.statusCode),
        PROBE_TIMEOUT_MS,
        'a probe',
      ).catch(() => 'no answer yet')
      if (status === 200) anyOkAt ??= performance.now()
      if (status === 200 && rebuilt) okAt ??= performance.now()
      else count(`${status}${status === 200 ? ' (old registration)' : ''}`)
    }
    while (okAt === undefined && performance.now() - since < OUTAGE_RECOVERY_LIMIT_MS) {
      probes.push(probe())
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS))
    }
    await Promise.all(probes)
    if (okAt === undefined) {
      const seen = [...before].map(([k, n]) => `${k} ×${n}`).join(', ')
      assert.fail(
        `no HTTP 200 within ${OUTAGE_RECOVERY_LIMIT_MS} ms after mosquitto came back; seen: ${seen}`,
      )
    }
    return { ms: okAt - since, anyMs: anyOkAt === undefined ? undefined : anyOkAt - since, before }
  }

  test(`[WP-44] ${OUTAGES} mosquitto outages in a row: each time requests through the gateway succeed again (recovery times printed)`, {
    timeout: OUTAGES * (OUTAGE_RECOVERY_LIMIT_MS + 10_000),
  }, async (t) => {
    if (!present(t) || !mosquitto) return
    const times: number[] = []
    /** The bundle's log lines saying the controller's `online` restarted a stalled routine (§8.4). */
    const restarts = () => bundle?.output().match(/restarting the registration routine/g)?.length ?? 0
    for (let i = 1; i <= OUTAGES; i++) {
      const restartsBefore = restarts()
      const how = i % 2 === 1 ? 'SIGTERM' : 'kill -9'
      const downWall = Date.now()
      if (how === 'SIGTERM') await mosquitto.stop()
      else await mosquitto.kill9()
      await waitFor(() => !gateway.controller.connected, 5000, 'the controller to notice the broker is gone')
      // Down for a different time each round: the controller and the bundle retry every 500 ms, so this changes
      // which of them is back first (a bundle back first used to lose its registration DELETE).
      const downMs = (i * 211) % 500
      await new Promise((r) => setTimeout(r, downMs))
      await mosquitto.restart()
      const upAt = performance.now()
      const { ms, anyMs, before } = await firstHttp200(upAt, downWall)
      times.push(ms)
      const seen = [...before].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'
      t.diagnostic(
        `outage ${i} (${how}, +${downMs} ms down): broker up → first HTTP 200 with the registration rebuilt: ${ms.toFixed(0)} ms (first 200 of any kind: ${anyMs?.toFixed(0)} ms; other probes: ${seen}; routine restarted by the controller's presence: ${restarts() - restartsBefore}×)`,
      )
      await waitFor(() => component()?.online === true, 5000, 'example registered and online')
      assert.equal(bundle?.child.exitCode, null, 'the bundle process kept running')
    }
    const sorted = [...times].sort((a, b) => a - b)
    t.diagnostic(
      `recovery over ${OUTAGES} outages: min ${sorted[0]?.toFixed(0)} ms, median ${sorted[Math.floor(OUTAGES / 2)]?.toFixed(0)} ms, max ${sorted[OUTAGES - 1]?.toFixed(0)} ms; over 2000 ms: ${times.filter((ms) => ms > 2000).length}`,
    )
    const answer = await remote('get', '/example')
    assert.equal(answer.code, 200)
    assert.deepEqual(answer.data, { key: 'v2' })
  })
})
