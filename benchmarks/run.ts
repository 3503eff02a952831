/**
 * `npm run bench`: in one run on this machine, loopback only, bounded in time —
 *   A  GET /api/v1/example through the full gateway (`bundlegate start --example`, a separate process) to the
 *      example bundle (its own process, spawned by the gateway);
 *   B  the same JSON from a bare fastify route in a separate process (the limit of this machine);
 *   B2 bare fastify forwarding each request over one raw socket to a second process that answers (the least an
 *      out-of-process bundle can cost);
 *   C  the MQTT round trip alone: direct requests over MQTT to the same example bundle;
 * at each concurrency (1, 16, 64), a warm-up then a measured window, A and B interleaved; plus the footprint
 * (RSS idle and after load, gateway spawn → ready, bundle spawn → registered). Prints Markdown tables and the
 * targets of issue 5, writes JSON (BENCH_OUT, default benchmarks/results/latest.json). See benchmarks/README.md.
 * @module
 */
import { type ChildProcess, execFileSync, fork, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { get } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { median, mib, type StartupSample, startupSample } from './footprint.ts'
import { type RunningGateway, startGatewayProcess } from './gateway-process.ts'
import type { LoadSpec } from './load-spec.ts'
import { manyBundlesFootprint } from './many-bundles.ts'
import { CLK_TCK, cpuModel, peakRssKiB, rssKiB } from './proc-stats.ts'
import { cleanupAll, installCleanupHandlers, interrupted, stopChild, track, trackPid } from './processes.ts'
import { type PythonCase, pythonStandinCases, pythonWithPaho } from './python-standin.ts'
import {
  type CaseName,
  type CaseResult,
  caseLine,
  type Footprint,
  markdown,
  pythonTargets,
  type Report,
  ratios,
  targets,
} from './report.ts'
import { runLoad, summarise, type Watched } from './run-load.ts'
import { settings } from './settings.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '..')
const EXPECTED = '{"key":"value"}'

const OUT = process.env.BENCH_OUT ?? join(HERE, 'results/latest.json')

const log = (line: string) => process.stderr.write(`${line}\n`)

// ------------------------------------------------------------------ helpers

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: REPO,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    return ''
  }
}

function getOnce(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = get(url, { headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => {
        body += d
      })
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error(`no answer from ${url} within 5 s`)))
  })
}

/** Forks one of the yardstick servers (case B, case B2's forwarder) and resolves with its port. */
async function forkServer(
  file: string,
): Promise<{ child: ChildProcess; port: number; responderPid: number | undefined }> {
  const child = track(fork(join(HERE, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const m = await new Promise<{ port?: number; responderPid?: number }>((resolveMessage, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 20 s`)), 20_000)
    child.once('message', (msg: { port?: number; responderPid?: number }) => {
      clearTimeout(timer)
      resolveMessage(msg)
    })
    child.once('exit', (code) => reject(new Error(`${file} exited (code ${code})`)))
  })
  if (m.responderPid !== undefined) trackPid(m.responderPid)
  return { child, port: m.port ?? 0, responderPid: m.responderPid }
}

/** True when a source file of the gateway or the example is newer than the compiled gateway (or it is missing). */
function buildIsStale(): boolean {
  const built = join(REPO, 'dist/cli/bin.js')
  if (!existsSync(built)) return true
  const builtAt = statSync(built).mtimeMs
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = join(dir, e.name)
      return e.isDirectory()
        ? e.name !== 'data' && newer(p)
        : e.name.endsWith('.ts') && statSync(p).mtimeMs > builtAt
    })
  return newer(join(REPO, 'src')) || newer(join(REPO, 'examples'))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now()
  const loadAvgBefore = loadavg()
  const perCase = settings.warmupSeconds + settings.seconds + 5
  const budgetS =
    180 +
    settings.startupRuns * 30 +
    (settings.manyBundles > 0 ? 120 + settings.manySettleMs / 500 : 0) +
    settings.rounds * settings.concurrency.length * settings.cases.length * (perCase + 30)
  const watchdog = setTimeout(() => {
    log(`benchmark still running after ${budgetS} s: giving up`)
    void cleanupAll().finally(() => process.exit(1))
  }, budgetS * 1000)
  watchdog.unref()

  if (process.env.BENCH_SKIP_BUILD !== '1' && (process.env.BENCH_BUILD === '1' || buildIsStale())) {
    log('building (npm run build; BENCH_SKIP_BUILD=1 skips it)…')
    const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' })
    if (b.status !== 0) throw new Error('npm run build failed')
  }
  for (const f of ['dist/cli/bin.js', 'dist/examples/example/index.js']) {
    if (!existsSync(join(REPO, f))) throw new Error(`${f} is missing: run npm run build`)
  }

  // Footprint first, on a quiet machine: throw-away gateways and bundles.
  const samples: StartupSample[] = []
  for (let i = 0; i < settings.startupRuns; i++) {
    const s = await startupSample(REPO, settings.settleMs, settings.startTimeoutMs)
    samples.push(s)
    log(
      `start-up sample ${i + 1}/${settings.startupRuns}: gateway spawn → /ready ${s.gatewaySpawnToReadyMs.toFixed(0)} ms, ` +
        `bundle spawn → registered ${s.bundleSpawnToRegisteredMs.toFixed(0)} ms`,
    )
  }

  const manyBundles =
    settings.manyBundles > 0
      ? await manyBundlesFootprint(REPO, settings.manyBundles, settings.manySettleMs, settings.startTimeoutMs)
      : undefined
  if (manyBundles) log(`many bundles: ${JSON.stringify(manyBundles)}`)

  const gw: RunningGateway = await startGatewayProcess(REPO, {
    example: true,
    timeoutMs: settings.startTimeoutMs,
  })
  log(
    `gateway pid ${gw.pid} at ${gw.httpUrl}, broker ${gw.brokerUrl}, example bundle pid ${gw.bundlePid}; ` +
      `spawn → /ready ${gw.spawnToReadyMs.toFixed(0)} ms, example registered ${gw.bannerRegisteredMs} ms after start`,
  )
  const bare = await forkServer('bare-fastify.ts')
  const bareUrl = `http://127.0.0.1:${bare.port}/api/v1/example`
  const forwarder = settings.cases.includes('B2') ? await forkServer('b2-forwarder.ts') : undefined
  const forwarderUrl = forwarder ? `http://127.0.0.1:${forwarder.port}/api/v1/example` : ''
  const gatewayUrl = `${gw.httpUrl}/api/v1/example`
  const headers = { 'mx-api-token': gw.token }
  for (const [name, url] of [
    ['A', gatewayUrl],
    ['B', bareUrl],
    ...(forwarder ? ([['B2', forwarderUrl]] as const) : []),
  ] as const) {
    const r = await getOnce(url, headers)
    if (r.status !== 200 || r.body !== EXPECTED)
      throw new Error(`case ${name}: GET ${url} answered ${r.status} ${r.body}, expected 200 ${EXPECTED}`)
  }
  await sleep(settings.settleMs)
  const bundlePid = gw.bundlePid as number
  const idle = {
    gateway: rssKiB(gw.pid),
    bundle: rssKiB(bundlePid),
    bare: rssKiB(bare.child.pid as number),
    forwarder: forwarder ? rssKiB(forwarder.child.pid as number) : undefined,
    responder: forwarder?.responderPid ? rssKiB(forwarder.responderPid) : undefined,
  }

  const specFor = (name: CaseName, concurrency: number): { spec: LoadSpec; watched: Watched[] } => {
    const common = {
      concurrency,
      warmupMs: settings.warmupSeconds * 1000,
      durationMs: settings.seconds * 1000,
      requestTimeoutMs: settings.requestTimeoutMs,
    }
    const viaGateway: Watched[] = [
      { name: 'gateway', pid: gw.pid },
      { name: 'bundle', pid: bundlePid },
    ]
    if (name === 'A')
      return {
        spec: { ...common, target: { kind: 'http', url: gatewayUrl, headers, expectBody: EXPECTED } },
        watched: viaGateway,
      }
    if (name === 'B2' && forwarder)
      return {
        spec: { ...common, target: { kind: 'http', url: forwarderUrl, headers, expectBody: EXPECTED } },
        watched: [
          { name: 'bareFastify', pid: forwarder.child.pid as number },
          { name: 'responder', pid: forwarder.responderPid as number },
        ],
      }
    if (name === 'B')
      return {
        spec: { ...common, target: { kind: 'http', url: bareUrl, headers, expectBody: EXPECTED } },
        watched: [{ name: 'bareFastify', pid: bare.child.pid as number }],
      }
    return {
      spec: {
        ...common,
        target: {
          kind: 'mqtt',
          brokerUrl: gw.brokerUrl,
          method: 'get',
          resource: '/example',
          qos: settings.mqttQos,
          expectData: EXPECTED,
        },
      },
      watched: viaGateway,
    }
  }

  // A and B interleaved at each concurrency (B first in odd rounds), so drift affects both.
  const runs = new Map<string, Array<Awaited<ReturnType<typeof runLoad>>>>()
  for (let round = 0; round < settings.rounds; round++) {
    for (const c of settings.concurrency) {
      const order: CaseName[] = settings.cases.filter((x) => x !== 'C') // A, B, B2 interleaved
      if (round % 2 === 1) order.reverse()
      if (settings.cases.includes('C')) order.push('C')
      for (const name of order) {
        const { spec, watched } = specFor(name, c)
        const r = await runLoad(spec, watched)
        const key = `${name}${c}`
        runs.set(key, [...(runs.get(key) ?? []), r])
        log(`round ${round + 1}/${settings.rounds} ${caseLine(summarise(name, c, [r]))}`)
      }
    }
  }

  // Case P after A/B/B2/C, on the same gateway: the stand-in registers next to the example.
  const python = settings.pythonConcurrency.length > 0 ? pythonWithPaho() : undefined
  let pythonCases: PythonCase[] = []
  let pythonSkipped: string | undefined
  if (settings.pythonConcurrency.length === 0) pythonSkipped = 'BENCH_PYTHON_CONCURRENCY is empty'
  else if (!python) pythonSkipped = 'no Python with paho-mqtt (apt-get install python3-paho-mqtt)'
  else {
    pythonCases = await pythonStandinCases(gw, python, settings.pythonConcurrency, {
      warmupMs: settings.warmupSeconds * 1000,
      durationMs: settings.seconds * 1000,
      requestTimeoutMs: settings.requestTimeoutMs,
    })
    for (const x of pythonCases)
      log(`python stand-in c${x.concurrency}: ${caseLine(x.viaGateway)}; alone ${caseLine(x.direct)}`)
  }

  await sleep(settings.settleMs)
  const footprintAfter = {
    gateway: rssKiB(gw.pid),
    bundle: rssKiB(bundlePid),
    gatewayPeak: peakRssKiB(gw.pid),
    bundlePeak: peakRssKiB(bundlePid),
  }

  const cases: CaseResult[] = []
  for (const c of settings.concurrency)
    for (const name of settings.cases) {
      const r = runs.get(`${name}${c}`)
      if (r) cases.push(summarise(name, c, r))
    }

  await stopChild(bare.child)
  if (forwarder) await stopChild(forwarder.child)
  await gw.stop()

  const readySamples = [...samples.map((s) => s.gatewaySpawnToReadyMs), gw.spawnToReadyMs]
  const regSamples = samples.map((s) => s.bundleSpawnToRegisteredMs)
  const footprint: Footprint = {
    gatewayIdleRssMiB: mib(idle.gateway),
    bundleIdleRssMiB: mib(idle.bundle),
    gatewayAfterLoadRssMiB: mib(footprintAfter.gateway),
    bundleAfterLoadRssMiB: mib(footprintAfter.bundle),
    gatewayPeakRssMiB: mib(footprintAfter.gatewayPeak),
    bundlePeakRssMiB: mib(footprintAfter.bundlePeak),
    bareFastifyIdleRssMiB: mib(idle.bare),
    b2IdleRssMiB: idle.forwarder === undefined ? undefined : mib(idle.forwarder + (idle.responder ?? 0)),
    gatewaySpawnToReadyMs: readySamples,
    gatewaySpawnToReadyMedianMs: median(readySamples),
    gatewayBannerReadyMs: gw.bannerReadyMs,
    exampleRegisteredBannerMs: gw.bannerRegisteredMs,
    bundleSpawnToRegisteredMs: regSamples,
    bundleSpawnToRegisteredMedianMs: median(regSamples),
    startupSampleBundleIdleRssMiB: samples.map((s) => mib(s.bundleIdleRssKiB)),
    startupSampleGatewayIdleRssMiB: samples.map((s) => mib(s.gatewayIdleRssKiB)),
    startupSampleGatewayNoBundleRssMiB: samples.map((s) => mib(s.gatewayNoBundleRssKiB)),
    manyBundles,
  }
  const report: Report = {
    schema: 1,
    date: new Date().toISOString(),
    git: {
      commit: git(['rev-parse', 'HEAD']),
      dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
      branch: git(['rev-parse', '--abbrev-ref', 'HEAD']),
    },
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpuModel: cpuModel(),
      cpus: cpus().length,
      clkTck: CLK_TCK,
      loadAvgBefore,
      loadAvgAfter: loadavg(),
    },
    settings: {
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      rounds: settings.rounds,
      concurrency: settings.concurrency,
      cases: settings.cases,
      mqttQos: settings.mqttQos,
      startupRuns: settings.startupRuns,
      settleMs: settings.settleMs,
    },
    cases,
    ratios: ratios(cases, settings.concurrency),
    footprint,
    python: pythonCases,
    pythonSkipped,
    targets: [...targets(cases, footprint), ...pythonTargets(pythonCases)],
    durationSeconds: (performance.now() - started) / 1000,
  }

  process.stdout.write(`\n${markdown(report)}\n`)
  const errors = cases.reduce((n, c) => n + c.errors + c.unanswered, 0)
  if (errors > 0) log(`\nwarning: ${errors} failed requests; see errorKinds in the JSON`)
  if (OUT !== '' && OUT !== 'none') {
    await mkdir(dirname(resolve(OUT)), { recursive: true })
    // Three decimals are plenty (and keep diffs between runs readable).
    const round = (_k: string, v: unknown) =>
      typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v
    await writeFile(OUT, `${JSON.stringify(report, round, 2)}\n`)
    // Formatted as the repository's formatter wants it, so that `npm run lint` stays clean after a run.
    spawnSync(join(REPO, 'node_modules/.bin/biome'), ['format', '--write', resolve(OUT)], {
      cwd: REPO,
      stdio: 'ignore',
    })
    log(`\nresults written to ${OUT} (${report.durationSeconds.toFixed(0)} s in all)`)
  }
}

installCleanupHandlers()
try {
  await main()
  await cleanupAll()
} catch (err) {
  // After SIGINT / SIGTERM, failures of the processes being stopped are expected: the handler exits 130 / 143.
  if (!interrupted())
    log(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  await cleanupAll()
  process.exitCode = 1
}
