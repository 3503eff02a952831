/**
 * Load (issue 4, item 5): 200 HTTP requests kept in flight for 60 s against the example bundle as a real process,
 * through a real gateway (web service, token check, controller, embedded broker), GET and PUT mixed. Every answer
 * must be right: a 200 with the expected body. The numbers (requests, req/s, latency, memory) are printed, never
 * asserted. BUNDLEGATE_LOAD_SECONDS shortens or lengthens the run (default 60: this test takes about a minute in CI).
 */
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { Agent } from 'node:http'
import { test } from 'node:test'
import { httpSend } from '../../benchmarks/http-send.ts'
import { rssKiB } from '../../benchmarks/proc-stats.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { copyExampleDir, spawnExample } from '../helpers/processes.ts'

const SECONDS = Number(process.env.BUNDLEGATE_LOAD_SECONDS ?? 60)
const CONCURRENCY = 200
/** One request in this many is a PUT. */
const PUT_EVERY = 10
/** A request slower than this counts as an error (the bundle's ttl is 60 s; nothing should come near). */
const REQUEST_TIMEOUT_MS = 30_000

const send = (agent: Agent, url: URL, method: string, headers: Record<string, string>, body?: string) =>
  httpSend(agent, url, method, headers, body, REQUEST_TIMEOUT_MS)

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

const mib = (kib: number | undefined) => (kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`)

test(`${CONCURRENCY} concurrent HTTP requests for ${SECONDS} s (GET and PUT /api/v1/example, 1 PUT in ${PUT_EVERY}) through the gateway to the example bundle process: no errors`, {
  timeout: (SECONDS + 90) * 1000,
}, async (t) => {
  assert.ok(Number.isFinite(SECONDS) && SECONDS > 0, 'BUNDLEGATE_LOAD_SECONDS must be a positive number')
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const dir = await copyExampleDir()
  defer(() => rm(dir, { recursive: true, force: true }))
  // info, not debug: a debug line per save would be load of its own (and kept in memory by spawnExample)
  const bundle = spawnExample({ brokerUrl: gw.brokerUrl, dir, env: { LOG_LEVEL: 'info' } })
  defer(() => bundle.stop())
  await bundle.ready
  const pid = bundle.child.pid!
  const url = new URL(`${gw.httpUrl}/api/v1/example`)
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  defer(() => agent.destroy())
  const headers = { 'mx-api-token': gw.rootToken }
  const putHeaders = { ...headers, 'content-type': 'application/json' }

  // a short warm-up, which also makes every connection of the pool
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () =>
      assert.equal((await send(agent, url, 'GET', headers)).status, 200),
    ),
  )
  const before = { gateway: process.memoryUsage().rss / 1024, bundle: rssKiB(pid) }

  const latencies: number[] = []
  const errors: string[] = []
  let gets = 0
  let puts = 0
  let seq = 0
  const startedAt = performance.now()
  const deadline = startedAt + SECONDS * 1000
  const worker = async (w: number) => {
    while (performance.now() < deadline) {
      const n = seq++
      const isPut = n % PUT_EVERY === 0
      const sent = isPut ? JSON.stringify({ key: `w${w}-${n}` }) : undefined
      const t0 = performance.now()
      try {
        const r = isPut
          ? await send(agent, url, 'PUT', putHeaders, sent)
          : await send(agent, url, 'GET', headers)
        latencies.push(performance.now() - t0)
        if (isPut) puts++
        else gets++
        let ok = r.status === 200
        if (ok) {
          const body = JSON.parse(r.body) as { key?: unknown }
          ok = isPut ? r.body === sent : typeof body.key === 'string'
        }
        if (!ok) errors.push(`${isPut ? 'PUT' : 'GET'} → ${r.status} ${r.body.slice(0, 200)}`)
      } catch (err) {
        errors.push(`${isPut ? 'PUT' : 'GET'} failed: ${(err as Error).message}`)
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)))
  const elapsed = (performance.now() - startedAt) / 1000
  const after = { gateway: process.memoryUsage().rss / 1024, bundle: rssKiB(pid) }

  const sorted = Float64Array.from(latencies).sort()
  const total = gets + puts
  t.diagnostic(
    `${total} requests in ${elapsed.toFixed(1)} s (${gets} GET, ${puts} PUT), ${CONCURRENCY} in flight`,
  )
  t.diagnostic(`throughput: ${(total / elapsed).toFixed(0)} req/s`)
  t.diagnostic(
    `latency ms: p50 ${percentile(sorted, 50).toFixed(1)}, p99 ${percentile(sorted, 99).toFixed(1)}, max ${percentile(sorted, 100).toFixed(1)}`,
  )
  t.diagnostic(
    `RSS before → after: test process (gateway + load client) ${mib(before.gateway)} → ${mib(after.gateway)}; ` +
      `example bundle ${mib(before.bundle)} → ${mib(after.bundle)}`,
  )
  t.diagnostic(`errors: ${errors.length}`)
  assert.deepEqual(errors.slice(0, 10), [], `${errors.length} errors; the first ones are shown`)
  assert.ok(total > CONCURRENCY, 'the load ran')
  assert.equal(bundle.child.exitCode, null, 'the bundle process is still running')
})
