/**
 * `node --conditions=bundlegate-dev --import tsx benchmarks/metrics-cost.ts`: what metrics and the access log cost
 * (issue 17). One process holds the gateway, an in-process bundle and the HTTP client, so the figure that matters
 * is **CPU µs per request** (`process.cpuUsage`), which a busy machine disturbs far less than throughput. Modes
 * `off` (metrics.enabled false), `on` (the default) and `access` (metrics and the access log, written as JSON to
 * /dev/null through pino) run interleaved, reversed every other round, and the medians are printed. Loopback only,
 * bounded: METRICS_COST_ROUNDS (5) × 3 modes × METRICS_COST_REQUESTS (3000) requests at concurrency 16.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { loadConfig } from '../src/config/index.ts'
import { createBundle } from '../src/index.ts'
import type { Logger } from '../src/logger.ts'
import { startGateway } from '../src/server.ts'

const ROUNDS = Number(process.env.METRICS_COST_ROUNDS ?? 5)
const REQUESTS = Number(process.env.METRICS_COST_REQUESTS ?? 3000)
const CONCURRENCY = 16
type Mode = 'off' | 'on' | 'access'

function get(agent: Agent, url: URL, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { 'mx-api-token': token } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

async function measure(mode: Mode): Promise<{ cpuUsPerReq: number; reqPerSec: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-metrics-cost-'))
  const logger = pino({ level: 'info' }, pino.destination('/dev/null')) as unknown as Logger
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0, rateLimitPerSec: 0 },
      data: { dir, tokenFile: join(dir, 'mx-api-token') },
      metrics: { enabled: mode !== 'off', accessLog: mode === 'access' },
    },
  })
  const gw = await startGateway(config, { logger })
  const bundle = createBundle({
    manifest: {
      name: 'cost',
      version: '0.0.1',
      description: 'cost',
      role: 'model',
      ttl: 5,
      resources: [{ resource: '/cost' }],
    },
    brokerUrl: gw.brokerUrl,
    logger,
    signals: false,
  })
  bundle.get('/cost', () => ({ key: 'value' }))
  await bundle.start()
  const token = (await import('node:fs')).readFileSync(join(dir, 'mx-api-token'), 'utf8').trim()
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const url = new URL(`${gw.httpUrl}/api/v1/cost`)
  const run = async (n: number) => {
    let left = n
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) if ((await get(agent, url, token)) !== 200) throw new Error('not 200')
      }),
    )
  }
  try {
    await run(500) // warm-up
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    await run(REQUESTS)
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    return { cpuUsPerReq: (cpu.user + cpu.system) / REQUESTS, reqPerSec: (REQUESTS / ms) * 1000 }
  } finally {
    agent.destroy()
    await bundle.stop()
    await gw.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const results: Record<Mode, Array<{ cpuUsPerReq: number; reqPerSec: number }>> = {
  off: [],
  on: [],
  access: [],
}
for (let r = 0; r < ROUNDS; r++) {
  const order: Mode[] = r % 2 === 0 ? ['off', 'on', 'access'] : ['access', 'on', 'off']
  for (const mode of order) {
    const m = await measure(mode)
    results[mode].push(m)
    process.stderr.write(
      `round ${r + 1} ${mode}: ${m.cpuUsPerReq.toFixed(0)} µs CPU/req, ${m.reqPerSec.toFixed(0)} req/s\n`,
    )
  }
}
const off = median(results.off.map((x) => x.cpuUsPerReq))
console.log('| mode | CPU µs / request (median) | vs off | req/s (median) |')
console.log('| --- | --- | --- | --- |')
for (const mode of ['off', 'on', 'access'] as const) {
  const cpu = median(results[mode].map((x) => x.cpuUsPerReq))
  const rps = median(results[mode].map((x) => x.reqPerSec))
  console.log(
    `| ${mode} | ${cpu.toFixed(0)} | ${(((cpu - off) / off) * 100).toFixed(1)} % | ${rps.toFixed(0)} |`,
  )
}
