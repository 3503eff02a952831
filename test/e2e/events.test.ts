/**
 * End to end, everything a real process: bundles publish EVENTs over MQTT and an HTTP client watches them on
 * `GET /api/v1/events` without a single polling request. The example bundle announces its config changes; a timed
 * publisher measures the latency from `this.publish.event.put()` in a bundle process to the SSE client; a killed
 * and restarted bundle shows as offline, then online again, on `/bundles/<name>`.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { Gateway } from '../../src/server.ts'
import { openSse, startEventsGateway } from '../helpers/events.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'
import { copyExampleDir, REPO_ROOT, spawnExample, within } from '../helpers/processes.ts'

const TEST_TIMEOUT_MS = 60_000

/** Runs test/helpers/pulse-bundle.ts as its own process; resolves once it has registered. */
async function spawnPulse(brokerUrl: string): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, BROKER_URL: brokerUrl, LOG_LEVEL: 'warn' }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(
    process.execPath,
    ['--conditions=bundlegate-dev', '--import', 'tsx', join(REPO_ROOT, 'test', 'helpers', 'pulse-bundle.ts')],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  await within(
    new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (out.includes('pulse-bundle registered')) {
          clearInterval(check)
          resolve()
        }
      }, 10)
      child.once('exit', (code) => {
        clearInterval(check)
        reject(new Error(`pulse bundle exited (${code}) before registering:\n${out}`))
      })
    }),
    20_000,
    'the pulse bundle to register',
  )
  return child
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number
}

describe('push channel end to end (bundle processes, HTTP clients)', () => {
  const cleanup = lifo({ after })
  let gw: Gateway & { rootToken: string }
  let readToken: string
  let writeToken: string

  const makeToken = async (scope: string) => {
    const res = await fetch(`${gw.httpUrl}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
      body: JSON.stringify({ description: `e2e ${scope}`, scope }),
    })
    return ((await res.json()) as { token: string }).token
  }

  before(async () => {
    gw = await startEventsGateway()
    cleanup(() => gw.close())
    readToken = await makeToken('read')
    writeToken = await makeToken('readwrite')
  })

  test('the example bundle publishes its config change: an SSE client with a read token sees PUT /example', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const dir = await copyExampleDir()
    cleanup(() => rm(dir, { recursive: true, force: true }))
    // as a browser's EventSource would: the token in the query
    const watcher = await openSse(
      `${gw.httpUrl}/api/v1/events?resource=/example&resource=/sentinel-1&mx-api-token=${readToken}`,
    )
    cleanup(() => watcher.close())
    assert.equal(watcher.status, 200)
    const example = spawnExample({ brokerUrl: gw.brokerUrl, dir })
    cleanup(() => example.stop())
    await example.ready
    const started = performance.now()
    const put = await fetch(`${gw.httpUrl}/api/v1/example`, {
      method: 'PUT',
      headers: { 'mx-api-token': writeToken, 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'watched', n: 3 }),
    })
    assert.equal(put.status, 200)
    await watcher.waitForEvents(1)
    t.diagnostic(`PUT sent to change event at the SSE client: ${(performance.now() - started).toFixed(1)} ms`)
    const [e] = watcher.events()
    assert.equal(e?.resource, '/example')
    assert.equal(e?.method, 'put')
    assert.equal(e?.code, 200)
    assert.deepEqual(e?.data, { key: 'watched', n: 3 })
    // a GET changes nothing and publishes nothing
    const get = await fetch(`${gw.httpUrl}/api/v1/example`, { headers: { 'mx-api-token': readToken } })
    assert.deepEqual(await get.json(), { key: 'watched', n: 3 })
    gw.controller.core.event({ method: 'put', resource: '/sentinel-1', code: 200, data: null })
    await waitFor(() => watcher.events().some((e) => e.resource === '/sentinel-1'))
    assert.deepEqual(
      watcher.events().map((e) => e.resource),
      ['/example', '/sentinel-1'],
      'one event for one change',
    )
    await example.stop()
  })

  test('latency: this.publish.event.put() in a bundle process to the SSE client', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const pulse = await spawnPulse(gw.brokerUrl)
    cleanup(() => {
      pulse.kill('SIGKILL')
    })
    const watcher = await openSse(`${gw.httpUrl}/api/v1/events?resource=/pulse/%2B`, {
      authorization: `Bearer ${readToken}`,
    })
    cleanup(() => watcher.close())
    const COUNT = 100
    const put = await fetch(`${gw.httpUrl}/api/v1/pulse`, {
      method: 'PUT',
      headers: { 'mx-api-token': writeToken, 'content-type': 'application/json' },
      body: JSON.stringify({ count: COUNT, gapMs: 5 }),
    })
    assert.equal(put.status, 200)
    await watcher.waitForEvents(COUNT, 20_000)
    const events = watcher.events()
    assert.deepEqual(
      events.map((e) => (e.data as { n: number }).n),
      Array.from({ length: COUNT }, (_, n) => n),
      'every event, in order',
    )
    const latencies = watcher.messages
      .filter((m) => m.event === 'message')
      .map((m) => m.at - (JSON.parse(m.data) as { data: { sentAt: number } }).data.sentAt)
      .sort((a, b) => a - b)
    t.diagnostic(
      `publish.event.put → SSE client over ${COUNT} events: median ${percentile(latencies, 50).toFixed(2)} ms, ` +
        `p95 ${percentile(latencies, 95).toFixed(2)} ms, max ${(latencies.at(-1) as number).toFixed(2)} ms`,
    )
  })

  test('a killed bundle shows offline on /bundles/<name>; restarted, it deregisters, registers and is online', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const dir = await copyExampleDir()
    cleanup(() => rm(dir, { recursive: true, force: true }))
    const watcher = await openSse(
      `${gw.httpUrl}/api/v1/events?resource=/bundles/%2B&resource=/sentinel-3&mx-api-token=${readToken}`,
    )
    cleanup(() => watcher.close())
    const first = spawnExample({ brokerUrl: gw.brokerUrl, dir })
    cleanup(() => first.stop())
    await first.ready
    // all its registration caused (the first test's example was killed: this one is also "online") is on the
    // stream before this event: the hub keeps the order
    gw.controller.core.event({ method: 'put', resource: '/sentinel-3', code: 200, data: null })
    await waitFor(() => watcher.events().some((e) => e.resource === '/sentinel-3'), 10_000)
    const mark = watcher.events().length
    await first.stop() // SIGKILL: no goodbye, the broker notices the connection is gone
    await waitFor(() => watcher.events().length > mark, 10_000, 'the offline event')
    const second = spawnExample({ brokerUrl: gw.brokerUrl, dir })
    cleanup(() => second.stop())
    await second.ready
    await waitFor(() => watcher.events().length >= mark + 4, 10_000, 'deregistered, registered, online')
    const changes = watcher
      .events()
      .slice(mark)
      .map((e) => `${e.method} ${e.resource} ${(e.data as { change: string }).change}`)
    assert.deepEqual(changes, [
      'put /bundles/example offline',
      'delete /bundles/example deregistered',
      'post /bundles/example registered',
      'put /bundles/example online',
    ])
  })
})
