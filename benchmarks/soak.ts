/**
 * `npm run soak [-- --minutes N]`: the gateway (`bundlegate start`) and the example bundle as two real processes,
 * a steady moderate HTTP load through the gateway to the bundle for N minutes (default 10), and the memory of both
 * processes sampled every few seconds: RSS from /proc and the live heap (heapUsed right after a full GC, asked over
 * an IPC channel; see soak-probe.ts). At the end: growth from the first to the last third of the samples after the
 * warm-up, the least-squares slope in MiB/min, and a verdict per series and overall, `flat` or `growing`.
 * Progress goes to stderr, a Markdown summary to stdout, the full result to benchmarks/results/soak-latest.json.
 * Exits 1 when a series grows or a request failed. Not part of `npm test`. Loopback only.
 *
 * Options: --minutes N (10), --sample-seconds N (10), --warmup-seconds N (60, capped at a third of the run),
 * --rate N requests per second (200), --out FILE.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { Agent } from 'node:http'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { GATEWAY_BANNER } from './gateway-banner.ts'
import { exampleBundleDir } from './gateway-process.ts'
import { gatewayStartArgs } from './gateway-start-args.ts'
import { Histogram } from './histogram.ts'
import { type HttpAnswer, httpSend } from './http-send.ts'
import { LineWatcher } from './line-watcher.ts'
import { cpuModel, rssKiB } from './proc-stats.ts'
import { cleanupAll, installCleanupHandlers, interrupted, stopChild, tempDir, track } from './processes.ts'

const REPO = fileURLToPath(new URL('../', import.meta.url))
const MiB = 1024 * 1024

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '60' },
    rate: { type: 'string', default: '200' },
    out: { type: 'string', default: join(REPO, 'benchmarks/results/soak-latest.json') },
  },
})

function positive(name: string, raw: string): number {
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`soak: Expected \`--${name}\` to be a positive number, got \`${raw}\`\n`)
    process.exit(2)
  }
  return n
}

const MINUTES = positive('minutes', values.minutes)
const SAMPLE_S = positive('sample-seconds', values['sample-seconds'])
const WARMUP_S = Math.min(positive('warmup-seconds', values['warmup-seconds']), (MINUTES * 60) / 3)
const RATE = positive('rate', values.rate)
/** Requests in flight at most; a request that would exceed it is not sent and counted as `skipped`. */
const MAX_IN_FLIGHT = 64
const REQUEST_TIMEOUT_MS = 30_000

/** Out of every 100 requests: what is sent and what must come back. */
const MIX = { put: 10, notFound: 3, badToken: 1, newConnection: 5 } as const
type Kind = 'get' | 'put' | 'notFound' | 'badToken' | 'newConnection'

function kindOf(n: number): Kind {
  const k = n % 100
  if (k < MIX.put) return 'put'
  if (k < MIX.put + MIX.notFound) return 'notFound'
  if (k < MIX.put + MIX.notFound + MIX.badToken) return 'badToken'
  if (k < MIX.put + MIX.notFound + MIX.badToken + MIX.newConnection) return 'newConnection'
  return 'get'
}

interface Memory {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
}

interface Sample {
  /** Seconds since the load started. */
  t: number
  requests: number
  errors: number
  gateway: Memory
  bundle: Memory
}

/** A node process running from source (tsx) with the memory probe and --expose-gc. */
function spawnProbed(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const nodeArgs = [
    '--expose-gc',
    '--conditions=bundlegate-dev',
    '--import',
    import.meta.resolve('tsx'),
    '--import',
    pathToFileURL(join(REPO, 'benchmarks/soak-probe.ts')).href,
    ...args,
  ]
  return track(
    spawn(process.execPath, nodeArgs, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }),
  )
}

let nextQuestion = 1
/** The process's memory after a full GC, over IPC. */
function memoryOf(child: ChildProcess): Promise<Memory> {
  const id = nextQuestion++
  return new Promise<Memory>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage)
      reject(new Error(`pid ${child.pid} did not report its memory within 10 s`))
    }, 10_000)
    const onMessage = (m: unknown) => {
      const answer = m as Memory & { type?: string; id?: number; gc?: boolean }
      if (answer?.type !== 'soak:memory' || answer.id !== id) return
      clearTimeout(timer)
      child.off('message', onMessage)
      if (!answer.gc) reject(new Error(`pid ${child.pid} runs without --expose-gc`))
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = answer
      resolve({ rss, heapUsed, heapTotal, external, arrayBuffers })
    }
    child.on('message', onMessage)
    child.send({ type: 'soak:memory', id })
  })
}

function send(
  agent: Agent | false,
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<HttpAnswer> {
  return httpSend(agent, url, method, headers, body, REQUEST_TIMEOUT_MS)
}

async function waitFor200(url: string, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs
  let last = 'no answer'
  while (performance.now() < end) {
    try {
      const r = await send(false, url, 'GET', headers)
      if (r.status === 200) return
      last = `${r.status} ${r.body.slice(0, 200)}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${last})`)
}

interface Trend {
  /** Mean of the first third of the samples after the warm-up, MiB. */
  firstMiB: number
  /** Mean of the last third, MiB. */
  lastMiB: number
  growthMiB: number
  /** Least-squares slope over every sample after the warm-up. */
  slopeMiBPerMin: number
  /** The growth allowed before the verdict is `growing`. */
  toleranceMiB: number
  verdict: 'flat' | 'growing'
}

/** Tolerances: the live heap may move by max(1 MiB, 5 %), the RSS by max(8 MiB, 10 %) (allocator, JIT, buffers). */
const TOLERANCE = { heapUsed: { abs: 1, rel: 0.05 }, rss: { abs: 8, rel: 0.1 } } as const

function trend(points: Array<[number, number]>, tol: { abs: number; rel: number }): Trend {
  const third = Math.max(1, Math.floor(points.length / 3))
  const mean = (xs: Array<[number, number]>) => xs.reduce((s, [, v]) => s + v, 0) / xs.length
  const firstMiB = mean(points.slice(0, third)) / MiB
  const lastMiB = mean(points.slice(points.length - third)) / MiB
  const mt = points.reduce((s, [t]) => s + t, 0) / points.length
  const mv = points.reduce((s, [, v]) => s + v, 0) / points.length
  let num = 0
  let den = 0
  for (const [t, v] of points) {
    num += (t - mt) * (v - mv)
    den += (t - mt) ** 2
  }
  const slopeMiBPerMin = den === 0 ? 0 : ((num / den) * 60) / MiB
  const growthMiB = lastMiB - firstMiB
  const toleranceMiB = Math.max(tol.abs, tol.rel * firstMiB)
  return {
    firstMiB,
    lastMiB,
    growthMiB,
    slopeMiBPerMin,
    toleranceMiB,
    verdict: growthMiB > toleranceMiB ? 'growing' : 'flat',
  }
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: REPO,
      encoding: 'utf8',
    }).trim()
    return dirty === '' ? head : `${head} + uncommitted changes`
  } catch {
    return 'unknown'
  }
}

const fmt = (n: number, d = 1) => n.toFixed(d)
const log = (line: string) => process.stderr.write(`${line}\n`)

async function main(): Promise<number> {
  installCleanupHandlers()
  const startedAt = new Date()
  log(
    `soak: ${MINUTES} min at ${RATE} req/s, memory every ${SAMPLE_S} s, first ${WARMUP_S} s are warm-up (not judged)`,
  )

  // 1. the gateway: `bundlegate start` from source, free loopback ports, a temp data directory
  const dataDir = await tempDir('bg-soak-data-')
  const gateway = spawnProbed(
    gatewayStartArgs(join(REPO, 'src/cli/bin.ts'), dataDir, ['--log-level', 'warn']),
    {
      ...process.env,
    },
  )
  const gwOut = new LineWatcher(gateway)
  const web = await gwOut.waitFor(GATEWAY_BANNER.webService, 30_000, 'gateway start')
  const broker = await gwOut.waitFor(GATEWAY_BANNER.broker, 30_000, 'gateway banner (broker)')
  const httpUrl = web.match[1] as string
  const token = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()

  // 2. the example bundle, its own process, on a temp copy of its directory
  const bundleDir = await exampleBundleDir(REPO)
  const bundle = spawnProbed([join(REPO, 'examples/example/index.ts')], {
    ...process.env,
    BROKER_URL: broker.match[1] as string,
    BUNDLE_DIR: bundleDir,
    LOG_LEVEL: 'warn',
  })
  const bundleOut = new LineWatcher(bundle)
  const auth = { 'mx-api-token': token }
  const url = `${httpUrl}/api/v1/example`
  await waitFor200(url, auth, 30_000)
  log(`soak: gateway pid ${gateway.pid} at ${httpUrl}, example bundle pid ${bundle.pid}: load starts`)

  // 3. the load: open loop at RATE req/s, at most MAX_IN_FLIGHT in flight
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT })
  const latency = new Histogram()
  const byKind: Record<Kind, number> = { get: 0, put: 0, notFound: 0, badToken: 0, newConnection: 0 }
  const errors: string[] = []
  let errorCount = 0
  let skipped = 0
  let sent = 0
  let inFlight = 0
  const fail = (what: string) => {
    errorCount++
    if (errors.length < 20) errors.push(what)
  }
  const one = async (n: number) => {
    const kind = kindOf(n)
    const t0 = performance.now()
    inFlight++
    try {
      let r: HttpAnswer
      let ok: boolean
      if (kind === 'put') {
        const body = JSON.stringify({ key: `soak-${n}` })
        r = await send(agent, url, 'PUT', { ...auth, 'content-type': 'application/json' }, body)
        ok = r.status === 200 && r.body === body
      } else if (kind === 'notFound') {
        r = await send(agent, `${httpUrl}/api/v1/soak-nothing-here`, 'GET', auth)
        ok = r.status === 404
      } else if (kind === 'badToken') {
        r = await send(agent, url, 'GET', { 'mx-api-token': `bgt_${'A'.repeat(43)}` })
        ok = r.status === 401
      } else {
        r = await send(kind === 'newConnection' ? false : agent, url, 'GET', auth)
        ok = r.status === 200 && typeof (JSON.parse(r.body) as { key?: unknown }).key === 'string'
      }
      latency.record((performance.now() - t0) * 1000)
      byKind[kind]++
      if (!ok) fail(`${kind}: ${r.status} ${r.body.slice(0, 200)}`)
    } catch (err) {
      fail(`${kind}: ${(err as Error).message}`)
    } finally {
      inFlight--
    }
  }

  const loadStart = performance.now()
  const end = loadStart + MINUTES * 60_000
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - loadStart) / 1000) * RATE)
    while (sent + skipped < due) {
      if (inFlight >= MAX_IN_FLIGHT) {
        skipped++
        continue
      }
      void one(sent++)
    }
  }, 10)

  const samples: Sample[] = []
  const sample = async () => {
    const [gw, b] = await Promise.all([memoryOf(gateway), memoryOf(bundle)])
    // RSS from /proc too: the same number, but it must agree with what the process says
    const t = (performance.now() - loadStart) / 1000
    samples.push({ t, requests: sent, errors: errorCount, gateway: gw, bundle: b })
    const procGw = rssKiB(gateway.pid as number)
    log(
      `t=${fmt(t, 0).padStart(4)} s  requests ${String(sent).padStart(7)}  errors ${errorCount}  ` +
        `gateway rss ${fmt(gw.rss / MiB)} heap ${fmt(gw.heapUsed / MiB, 2)} MiB  ` +
        `bundle rss ${fmt(b.rss / MiB)} heap ${fmt(b.heapUsed / MiB, 2)} MiB` +
        (procGw === undefined ? '  (gateway gone!)' : ''),
    )
  }
  try {
    await sample()
    while (performance.now() < end && !interrupted()) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_S * 1000, Math.max(0, end - performance.now()))))
      if (gateway.exitCode !== null || bundle.exitCode !== null) {
        throw new Error(
          `a process died: gateway exit ${gateway.exitCode}, bundle exit ${bundle.exitCode}\n` +
            `gateway output:\n${gwOut.lines.slice(-30).join('\n')}\nbundle output:\n${bundleOut.lines.slice(-30).join('\n')}`,
        )
      }
      await sample()
    }
  } finally {
    clearInterval(ticker)
  }
  const loadSeconds = (performance.now() - loadStart) / 1000
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 10))
  agent.destroy()

  // 4. the verdict
  const judged = samples.filter((s) => s.t >= WARMUP_S)
  const series = {
    gateway: {
      rss: trend(
        judged.map((s) => [s.t, s.gateway.rss]),
        TOLERANCE.rss,
      ),
      heapUsed: trend(
        judged.map((s) => [s.t, s.gateway.heapUsed]),
        TOLERANCE.heapUsed,
      ),
    },
    bundle: {
      rss: trend(
        judged.map((s) => [s.t, s.bundle.rss]),
        TOLERANCE.rss,
      ),
      heapUsed: trend(
        judged.map((s) => [s.t, s.bundle.heapUsed]),
        TOLERANCE.heapUsed,
      ),
    },
  }
  const growing = Object.entries(series).flatMap(([proc, s]) =>
    Object.entries(s)
      .filter(([, tr]) => tr.verdict === 'growing')
      .map(([name]) => `${proc} ${name}`),
  )
  const enough = judged.length >= 6
  const verdict = !enough ? 'too short' : growing.length === 0 ? 'flat' : 'growing'
  const requests = Object.values(byKind).reduce((a, b) => a + b, 0)
  const result = {
    kind: 'soak',
    startedAt: startedAt.toISOString(),
    commit: commit(),
    node: process.version,
    cpu: cpuModel(),
    config: {
      minutes: MINUTES,
      sampleSeconds: SAMPLE_S,
      warmupSeconds: WARMUP_S,
      rate: RATE,
      maxInFlight: MAX_IN_FLIGHT,
      mix: MIX,
      tolerance: TOLERANCE,
      processes:
        'bundlegate start (src/cli/bin.ts via tsx) and examples/example/index.ts, each its own process',
    },
    load: {
      seconds: loadSeconds,
      requests,
      byKind,
      reqPerSec: requests / loadSeconds,
      skipped,
      errors: errorCount,
      firstErrors: errors,
      latencyMs: {
        p50: latency.percentile(50) / 1000,
        p99: latency.percentile(99) / 1000,
        max: latency.maxUs / 1000,
      },
    },
    samples,
    judgedSamples: judged.length,
    series,
    growing,
    verdict,
  }
  await mkdir(dirname(values.out), { recursive: true })
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`)

  const row = (proc: string, name: string, tr: Trend) =>
    `| ${proc} | ${name} | ${fmt(tr.firstMiB, 2)} | ${fmt(tr.lastMiB, 2)} | ${tr.growthMiB >= 0 ? '+' : ''}${fmt(tr.growthMiB, 2)} | ${tr.slopeMiBPerMin >= 0 ? '+' : ''}${fmt(tr.slopeMiBPerMin, 3)} | ${fmt(tr.toleranceMiB, 1)} | ${tr.verdict} |`
  const lines = [
    `## Soak: ${fmt(loadSeconds / 60, 1)} min, ${result.commit}`,
    '',
    `${requests} requests (${fmt(result.load.reqPerSec, 0)} req/s; ${byKind.get} GET, ${byKind.put} PUT, ` +
      `${byKind.notFound} 404, ${byKind.badToken} 401, ${byKind.newConnection} on a new connection), ` +
      `${errorCount} errors, ${skipped} not sent (over ${MAX_IN_FLIGHT} in flight); ` +
      `latency p50 ${fmt(result.load.latencyMs.p50, 2)} ms, p99 ${fmt(result.load.latencyMs.p99, 2)} ms.`,
    `Memory sampled every ${SAMPLE_S} s; ${judged.length} samples after the ${WARMUP_S} s warm-up are judged ` +
      '(heap = heapUsed after a full GC).',
    '',
    '| process | series | first third MiB | last third MiB | growth MiB | slope MiB/min | tolerance MiB | verdict |',
    '| ------- | ------ | --------------: | -------------: | ---------: | ------------: | ------------: | ------- |',
    row('gateway', 'RSS', series.gateway.rss),
    row('gateway', 'heap', series.gateway.heapUsed),
    row('bundle', 'RSS', series.bundle.rss),
    row('bundle', 'heap', series.bundle.heapUsed),
    '',
    `Verdict: **${verdict}**${growing.length > 0 ? ` (${growing.join(', ')})` : ''}. Result: ${values.out}`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  if (errors.length > 0) log(`first errors:\n  ${errors.join('\n  ')}`)

  if (gateway.connected) gateway.disconnect()
  if (bundle.connected) bundle.disconnect()
  await stopChild(bundle)
  await stopChild(gateway)
  return verdict === 'flat' && errorCount === 0 ? 0 : 1
}

main()
  .then(async (code) => {
    await cleanupAll()
    process.exitCode = code
  })
  .catch(async (err: unknown) => {
    if (!interrupted()) log(`soak: ${(err as Error).stack ?? String(err)}`)
    await cleanupAll()
    process.exitCode = 1
  })
