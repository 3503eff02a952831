/**
 * Fleet latency and throughput (issue 18), by hand: `node --conditions=bundlegate-dev --import tsx
 * benchmarks/fleet-latency.ts` (not part of npm test or npm run bench). The fleet of test/fleet/fleet-e2e.test.ts:
 * a real mosquitto (passwords + the ACL of docs/fleet.md), gateways cg-a and cg-b with the example bundle, a hub,
 * all `bundlegate start` processes on 127.0.0.1. Cases, interleaved per round at concurrency 1 and 16:
 *
 * - local:  `GET /api/v1/example` on cg-a (HTTP → controller → MQTT → bundle)
 * - hub:    `GET /api/v1/cg-a/example` on the hub (… → uplink → mosquitto → cg-a → … and back)
 * - peer:   `GET /api/v1/cg-a/example` on cg-b
 *
 * then the recovery time after a restart of the central broker (until the hub's remote call answers 200 again).
 * BENCH_SECONDS (default 5) per case, BENCH_ROUNDS (default 2); BENCH_NODELAY=0 runs mosquitto without
 * `set_tcp_nodelay true`. Prints a Markdown table.
 * @module
 */
import { Agent, request } from 'node:http'
import { eventually, type FleetMember, startCentral, startMember } from '../test/fleet/fleet-harness.ts'
import { Histogram } from './histogram.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)

interface CaseResult {
  ok: number
  errors: number
  seconds: number
  h: Histogram
}

/** The first error body seen per status (printed at the end: an error count alone explains nothing). */
const firstErrors = new Map<number, string>()

function get(agent: Agent, url: URL, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { 'mx-api-token': token } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => {
        if (res.statusCode !== 200) body += d.toString()
      })
      res.on('end', () => {
        const status = res.statusCode ?? 0
        if (status !== 200 && !firstErrors.has(status))
          firstErrors.set(status, `${new Date().toISOString()} ${body}`)
        resolve(status)
      })
    })
    req.on('error', () => resolve(0))
    req.end()
  })
}

async function run(m: FleetMember, path: string, concurrency: number, seconds: number): Promise<CaseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const url = new URL(`${m.gw.httpUrl}/api/v1${path}`)
  const h = new Histogram()
  let ok = 0
  let errors = 0
  const warmEnd = Date.now() + 1000
  const end = warmEnd + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now()
        const status = await get(agent, url, m.gw.rootToken)
        const us = (performance.now() - t0) * 1000
        if (Date.now() < warmEnd) continue
        if (status === 200) {
          ok++
          h.record(us)
        } else errors++
      }
    }),
  )
  agent.destroy()
  return { ok, errors, seconds, h }
}

const cleanups: Array<() => unknown> = []
const defer = (fn: () => unknown) => cleanups.push(fn)
try {
  const central = await startCentral(process.env.BENCH_NODELAY !== '0')
  if (!central) throw new Error('mosquitto is not installed')
  defer(() => central.close())
  const a = await startMember(central, 'cg-a', { trust: 'cg-hub=readwrite,cg-b=read' }, defer)
  const b = await startMember(central, 'cg-b', { trust: 'cg-hub=readwrite' }, defer)
  const hub = await startMember(central, 'cg-hub', { trust: '', hub: true }, defer)
  await eventually(async () => (await hub.call('GET', '/cg-a/example')).status === 200, 30_000, 'the fleet')
  await eventually(async () => (await b.call('GET', '/cg-a/example')).status === 200, 30_000, 'the fleet')
  const cases: Array<[string, FleetMember, string]> = [
    ['local (cg-a)', a, '/example'],
    ['hub → cg-a', hub, '/cg-a/example'],
    ['cg-b → cg-a', b, '/cg-a/example'],
  ]
  const results = new Map<string, CaseResult>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of [1, 16]) {
      const order = round % 2 === 0 ? cases : [...cases].reverse()
      for (const [name, m, path] of order) {
        const r = await run(m, path, c, SECONDS)
        const key = `${name}|${c}`
        const prev = results.get(key)
        if (prev) {
          prev.ok += r.ok
          prev.errors += r.errors
          prev.seconds += r.seconds
          prev.h.merge(r.h)
        } else results.set(key, r)
        process.stderr.write(`${new Date().toISOString()} ${key}: ${Math.round(r.ok / r.seconds)} req/s\n`)
      }
    }
  }
  const recoveries: number[] = []
  for (let i = 0; i < 3; i++) {
    await central.stop()
    await eventually(async () => (await hub.call('GET', '/cg-a/example')).status === 503, 10_000, 'the cut')
    const t0 = Date.now()
    await central.restart()
    await eventually(async () => (await hub.call('GET', '/cg-a/example')).status === 200, 60_000, 'recovery')
    recoveries.push(Date.now() - t0)
  }
  const ms = (us: number) => (us / 1000).toFixed(2)
  console.log('| case | concurrency | req/s | p50 ms | p99 ms | errors |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const [key, r] of results) {
    const [name, c] = key.split('|')
    const rate = Math.round(r.ok / r.seconds)
    console.log(
      `| ${name} | ${c} | ${rate} | ${ms(r.h.percentile(50))} | ${ms(r.h.percentile(99))} | ${r.errors} |`,
    )
  }
  for (const [status, body] of firstErrors) console.log(`\nfirst error ${status}: ${body.slice(0, 300)}`)
  console.log(
    `\nrecovery after a central broker restart (ms, restart → first 200 through the hub): ${recoveries.join(', ')}`,
  )
} finally {
  for (const fn of cleanups.reverse()) await fn()
}
