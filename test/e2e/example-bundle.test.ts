/**
 * End to end: the example bundle as a real process, over TCP MQTT, against the embedded broker of a gateway running
 * in this test process. Requests go both ways: in-process (as the web service will) and over MQTT (as any peer).
 */
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Envelope, Json } from '../../src/protocol/index.ts'
import type { Gateway } from '../../src/server.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { copyExampleDir, type ExampleProcess, mqttCall, spawnExample } from '../helpers/processes.ts'

const TEST_TIMEOUT_MS = 30_000

describe('example bundle as a real process (embedded broker)', () => {
  const cleanup = lifo({ after })
  let gateway: Gateway
  let dir: string
  let bundle: ExampleProcess | undefined

  const dataFile = () => join(dir, 'data', 'example.json')
  const onDisk = async (): Promise<unknown> => JSON.parse(await readFile(dataFile(), 'utf8'))
  const component = () => gateway.controller.core.components().find((c) => c.name === 'example')

  /** Spawns the bundle, waits for its registration and returns the ms it took. */
  async function startBundle(): Promise<number> {
    const b = spawnExample({ brokerUrl: gateway.brokerUrl, dir })
    bundle = b
    cleanup(() => b.stop())
    await b.ready
    return Date.now() - b.spawnedAt
  }

  /** The same request in-process and over MQTT; both answers (wire envelopes). */
  async function both(method: string, resource: string, data?: Json): Promise<[Envelope, Envelope]> {
    const local = await gateway.controller.core.request(
      data === undefined ? { method, resource } : { method, resource, data },
    )
    const remote = await mqttCall(gateway.brokerUrl, method, resource, data, { timeoutMs: 5000 })
    return [local.message, remote]
  }

  before(async () => {
    gateway = await startTestGateway()
    cleanup(() => gateway.close())
    dir = await copyExampleDir()
    cleanup(() => rm(dir, { recursive: true, force: true }))
  })

  test('registers: the controller lists component example, role model, online, pattern /example', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const ms = await startBundle()
    t.diagnostic(`spawn to "Register successfully": ${ms} ms`)
    const c = component()
    assert.ok(c, 'component example is listed')
    assert.equal(c.role, 'model')
    assert.equal(c.online, true)
    assert.deepEqual(c.patterns, ['/example'])
    assert.equal(c.builtin, false)
    assert.match(c.tunnel ?? '', /^\d+$/)
    assert.match(bundle?.output() ?? '', /Register successfully example tunnel: \d+/)
  })

  test('GET /example answers 200 with the factory content', { timeout: TEST_TIMEOUT_MS }, async () => {
    for (const answer of await both('get', '/example')) {
      assert.equal(answer.code, 200)
      assert.deepEqual(answer.data, { key: 'value' })
      assert.deepEqual(answer.sign, ['example'])
    }
    assert.deepEqual(await onDisk(), { key: 'value' })
  })

  test('PUT /example answers 200 and data/example.json holds the new content', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const local = await gateway.controller.core.request({
      method: 'put',
      resource: '/example',
      data: { key: 'v1' },
    })
    assert.equal(local.kind, 'answer')
    assert.equal(local.message.code, 200)
    assert.deepEqual(local.message.data, { key: 'v1' })
    assert.deepEqual(await onDisk(), { key: 'v1' })

    const remote = await mqttCall(gateway.brokerUrl, 'put', '/example', { key: 'v2' })
    assert.equal(remote.code, 200)
    assert.deepEqual(remote.data, { key: 'v2' })
    assert.deepEqual(await onDisk(), { key: 'v2' })
  })

  test('a restarted bundle serves the persisted content', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const old = bundle
    assert.ok(old)
    old.kill('SIGTERM')
    const exit = await old.exited
    assert.equal(exit.code, 0, `clean exit on SIGTERM:\n${old.output()}`)
    const ms = await startBundle()
    t.diagnostic(`restart: spawn to registration ${ms} ms`)
    assert.equal(component()?.online, true)
    for (const answer of await both('get', '/example')) {
      assert.equal(answer.code, 200)
      assert.deepEqual(answer.data, { key: 'v2' })
    }
  })

  test('PUT of a non-object answers 400 and leaves the file unchanged', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const before = await readFile(dataFile(), 'utf8')
    for (const data of ['just a string', [1, 2, 3], 42] as Json[]) {
      const [local, remote] = await both('put', '/example', data)
      for (const answer of [local, remote]) {
        assert.equal(answer.code, 400, JSON.stringify(answer))
        assert.match(String((answer.data as { message?: unknown }).message), /must be object/)
      }
    }
    assert.equal(await readFile(dataFile(), 'utf8'), before)
    const [get] = await both('get', '/example')
    assert.deepEqual(get.data, { key: 'v2' })
  })

  test("[WP-42] after kill -9 a request answers 503 bundle 'example' is offline at once, not a timeout", {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const b = bundle
    assert.ok(b)
    b.kill('SIGKILL')
    const exit = await b.exited
    assert.equal(exit.signal, 'SIGKILL')

    // In-process, sent the moment the process is gone (the broker may not even have seen the socket close yet:
    // then the session ends at once when it does, [WP-43]).
    let started = Date.now()
    const local = await gateway.controller.core.request({ method: 'get', resource: '/example' })
    t.diagnostic(
      `in-process request after kill -9: ${local.kind} ${local.message.code} in ${Date.now() - started} ms`,
    )
    assert.equal(local.kind, 'offline')
    assert.equal(local.bundle, 'example')
    assert.equal(local.message.code, 503)
    assert.deepEqual(local.message.data, { message: "bundle 'example' is offline" })

    started = Date.now()
    const remote = await mqttCall(gateway.brokerUrl, 'put', '/example', { key: 'lost' })
    t.diagnostic(
      `MQTT request after kill -9: ${remote.code} in ${Date.now() - started} ms (connect included)`,
    )
    assert.notEqual(remote.code, 408)
    assert.equal(remote.code, 503)
    assert.deepEqual(remote.data, { message: "bundle 'example' is offline" })
    assert.deepEqual(remote.sign, ['controller'])

    const c = component()
    assert.equal(c?.online, false, 'still listed, offline')
    assert.deepEqual(await onDisk(), { key: 'v2' })
  })

  test('[WP-44] started again, the bundle is online and answers 200 with no manual step', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const ms = await startBundle()
    t.diagnostic(`after kill -9: spawn to registration ${ms} ms`)
    await waitFor(() => component()?.online === true, 2000, 'component example online')
    for (const answer of await both('get', '/example')) {
      assert.equal(answer.code, 200)
      assert.deepEqual(answer.data, { key: 'v2' })
    }
    const [local, remote] = await both('put', '/example', { key: 'v3' })
    assert.equal(local.code, 200)
    assert.equal(remote.code, 200)
    assert.deepEqual(await onDisk(), { key: 'v3' })
  })
})
