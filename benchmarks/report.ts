/**
 * The benchmark's results: the JSON shape written to benchmarks/results/latest.json, the targets of issue 14 with
 * met / missed, and the Markdown tables printed to stdout.
 * @module
 */

export type CaseName = 'A' | 'B' | 'B2' | 'C' | 'P' | 'PD'

export const CASE_LABELS: Record<CaseName, string> = {
  A: 'GET /api/v1/example through the gateway to the example bundle (HTTP → controller → MQTT → bundle)',
  B: 'the same JSON from a bare fastify route (this machine’s limit)',
  B2: 'bare fastify forwarding over one raw socket to a second process that answers (the limit of the architecture)',
  C: 'direct request over MQTT to the example bundle (no HTTP)',
  P: 'GET /api/v1/pystandin through the gateway to the Python stand-in (3 threads, QoS 2)',
  PD: 'the Python stand-in alone behind mosquitto, requests straight to its tunnel (its own limit)',
}

/** Processes whose CPU time is measured. */
export type ProcessName = 'gateway' | 'bundle' | 'bareFastify' | 'responder' | 'loadGenerator'

export interface CaseResult {
  case: CaseName
  concurrency: number
  rounds: number
  /** Successful answers in the measured windows. */
  ok: number
  errors: number
  errorKinds: Record<string, number>
  unanswered: number
  seconds: number
  rps: number
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number }
  /** CPU seconds per 1,000 successful requests, per process involved. */
  cpuSecondsPer1k: Partial<Record<ProcessName, number>>
  /** CPU seconds used in the measured windows, per process. */
  cpuSeconds: Partial<Record<ProcessName, number>>
}

export interface Footprint {
  gatewayIdleRssMiB: number | undefined
  bundleIdleRssMiB: number | undefined
  gatewayAfterLoadRssMiB: number | undefined
  bundleAfterLoadRssMiB: number | undefined
  gatewayPeakRssMiB: number | undefined
  bundlePeakRssMiB: number | undefined
  bareFastifyIdleRssMiB: number | undefined
  /** B2's forwarder and responder together, idle. */
  b2IdleRssMiB?: number | undefined
  /** Spawn of `bundlegate start` → GET /ready 200, every sample (throw-away gateways, then the measured one). */
  gatewaySpawnToReadyMs: number[]
  gatewaySpawnToReadyMedianMs: number
  /** The banner's "ready in N ms" of the measured gateway. */
  gatewayBannerReadyMs: number
  /** The banner's "example registered in N ms" (from the gateway's start) of the measured gateway. */
  exampleRegisteredBannerMs: number | undefined
  /** Spawn of the compiled example bundle → its "Register successfully" line, every sample. */
  bundleSpawnToRegisteredMs: number[]
  bundleSpawnToRegisteredMedianMs: number
  /** Idle RSS of the bundles and gateways of the start-up samples. */
  startupSampleBundleIdleRssMiB: Array<number | undefined>
  startupSampleGatewayIdleRssMiB: Array<number | undefined>
  /** Gateway + N example bundles: in the shared host (plain and --lite-mode) and as N processes. */
  manyBundles?: ManyBundlesFootprint | undefined
  /** The start-up samples' gateways before any bundle connected. */
  startupSampleGatewayNoBundleRssMiB?: Array<number | undefined>
}

export interface Target {
  name: string
  target: string
  measured: string
  /** undefined when the run did not measure it (a case was left out). */
  met: boolean | undefined
}

export interface Report {
  schema: 1
  date: string
  git: { commit: string; dirty: boolean; branch: string }
  machine: {
    node: string
    platform: string
    cpuModel: string
    cpus: number
    clkTck: number
    loadAvgBefore: number[]
    loadAvgAfter: number[]
  }
  settings: {
    seconds: number
    warmupSeconds: number
    rounds: number
    concurrency: number[]
    cases: CaseName[]
    mqttQos: number
    startupRuns: number
    settleMs: number
  }
  cases: CaseResult[]
  ratios: Array<{
    concurrency: number
    aOverB: number | undefined
    p50DeltaAMinusBMs: number | undefined
    aOverB2?: number | undefined
    p50DeltaAMinusB2Ms?: number | undefined
    aOverC: number | undefined
    p50DeltaAMinusCMs: number | undefined
  }>
  footprint: Footprint
  /** Case P (the Python stand-in), or why it was skipped. */
  python?: PythonCase[] | undefined
  pythonSkipped?: string | undefined
  targets: Target[]
  durationSeconds: number
}

import { median } from './footprint.ts'
import type { ManyBundlesFootprint } from './many-bundles.ts'
import { type PythonCase, pythonMarkdown } from './python-standin.ts'

const MIB = 'MiB'

function f(n: number | undefined, digits = 2): string {
  return n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits)
}

function find(cases: CaseResult[], name: CaseName, c: number): CaseResult | undefined {
  return cases.find((r) => r.case === name && r.concurrency === c)
}

export function ratios(cases: CaseResult[], concurrency: number[]): Report['ratios'] {
  return concurrency.map((c) => {
    const a = find(cases, 'A', c)
    const b = find(cases, 'B', c)
    const b2 = find(cases, 'B2', c)
    const m = find(cases, 'C', c)
    return {
      concurrency: c,
      aOverB: a && b && b.rps > 0 ? a.rps / b.rps : undefined,
      p50DeltaAMinusBMs: a && b ? a.latencyMs.p50 - b.latencyMs.p50 : undefined,
      aOverB2: a && b2 && b2.rps > 0 ? a.rps / b2.rps : undefined,
      p50DeltaAMinusB2Ms: a && b2 ? a.latencyMs.p50 - b2.latencyMs.p50 : undefined,
      aOverC: a && m && m.rps > 0 ? a.rps / m.rps : undefined,
      p50DeltaAMinusCMs: a && m ? a.latencyMs.p50 - m.latencyMs.p50 : undefined,
    }
  })
}

/** The targets of issue 14 (footprint and throughput), evaluated. */
export function targets(cases: CaseResult[], fp: Footprint): Target[] {
  const out: Target[] = []
  const share = (over: CaseName, c: number, min: number) => {
    const a = find(cases, 'A', c)
    const b = find(cases, over, c)
    const ratio = a && b && b.rps > 0 ? a.rps / b.rps : undefined
    out.push({
      name: `A / ${over} throughput at c${c}`,
      target: `≥ ${min * 100} %`,
      measured: ratio === undefined ? 'not measured' : `${(ratio * 100).toFixed(0)} % of ${over}`,
      met: ratio === undefined ? undefined : ratio >= min,
    })
  }
  for (const c of [16, 64]) share('B', c, 0.5)
  for (const c of [16, 64]) share('B2', c, 0.8)
  const a1 = find(cases, 'A', 1)
  const b1 = find(cases, 'B', 1)
  const delta = a1 && b1 ? a1.latencyMs.p50 - b1.latencyMs.p50 : undefined
  out.push({
    name: 'A p50 at c1',
    target: '≤ B p50 + 0.25 ms',
    measured:
      delta === undefined || !a1 || !b1
        ? 'not measured'
        : `${f(a1.latencyMs.p50, 3)} ms = B + ${f(delta, 3)} ms`,
    met: delta === undefined ? undefined : delta <= 0.25,
  })
  const mem = (name: string, v: number | undefined, limit: number) =>
    out.push({
      name,
      target: `≤ ${limit} ${MIB}`,
      measured: v === undefined ? 'not measured' : `${f(v, 1)} ${MIB}`,
      met: v === undefined ? undefined : v <= limit,
    })
  const noBundle = (fp.startupSampleGatewayNoBundleRssMiB ?? []).filter((v): v is number => v !== undefined)
  mem('gateway idle RSS, no bundle connected', noBundle.length > 0 ? median(noBundle) : undefined, 64)
  mem('gateway idle RSS, example registered', fp.gatewayIdleRssMiB, 72)
  mem('bundle idle RSS (compiled example)', fp.bundleIdleRssMiB, 48)
  const time = (name: string, v: number, limit: number, n: number) =>
    out.push({
      name,
      target: `≤ ${limit} ms`,
      measured: Number.isFinite(v) ? `${f(v, 0)} ms (median of ${n})` : 'not measured',
      met: Number.isFinite(v) ? v <= limit : undefined,
    })
  const many = fp.manyBundles
  if (many) {
    const total = (many.gatewayRssMiB ?? Number.NaN) + (many.hostRssMiB ?? Number.NaN)
    out.push({
      name: `gateway + ${many.bundles} example bundles (shared host), total RSS`,
      target: `≤ 300 ${MIB}`,
      measured: `${f(total, 0)} ${MIB} (${f(many.gatewayRssMiB, 0)} + ${f(many.hostRssMiB, 0)}; --lite-mode host: ${f((many.gatewayRssMiB ?? Number.NaN) + (many.hostLiteRssMiB ?? Number.NaN), 0)})`,
      met: Number.isFinite(total) ? total <= 300 : undefined,
    })
  }
  time('gateway spawn → /ready 200', fp.gatewaySpawnToReadyMedianMs, 500, fp.gatewaySpawnToReadyMs.length)
  time(
    'bundle spawn → registered',
    fp.bundleSpawnToRegisteredMedianMs,
    300,
    fp.bundleSpawnToRegisteredMs.length,
  )
  return out
}

/** One line per case, printed as soon as the case is done. */
export function caseLine(r: CaseResult): string {
  const cpu = Object.entries(r.cpuSecondsPer1k)
    .map(([k, v]) => `${k} ${f(v, 3)}`)
    .join(', ')
  const err = r.errors > 0 ? ` errors ${r.errors} ${JSON.stringify(r.errorKinds)}` : ' errors 0'
  return (
    `${r.case} c${r.concurrency}: ${f(r.rps, 0)} req/s, p50 ${f(r.latencyMs.p50, 3)} ms, ` +
    `p90 ${f(r.latencyMs.p90, 3)} ms, p99 ${f(r.latencyMs.p99, 3)} ms,${err}; CPU s/1k req: ${cpu}`
  )
}

export function markdown(r: Report): string {
  const L: string[] = []
  const dirty = r.git.dirty ? ' (with uncommitted changes)' : ''
  L.push(`## Bundlegate benchmark, ${r.date}`)
  L.push('')
  L.push(
    `${r.machine.cpuModel}, ${r.machine.cpus} CPUs, Node ${r.machine.node}, CLK_TCK ${r.machine.clkTck}; ` +
      `git ${r.git.branch} ${r.git.commit.slice(0, 12)}${dirty}; load average before ` +
      `${r.machine.loadAvgBefore.map((x) => x.toFixed(2)).join(' ')}, after ` +
      `${r.machine.loadAvgAfter.map((x) => x.toFixed(2)).join(' ')}.`,
  )
  L.push(
    `${r.settings.seconds} s per case after ${r.settings.warmupSeconds} s of warm-up, ${r.settings.rounds} ` +
      `round(s), A and B interleaved; MQTT requests at QoS ${r.settings.mqttQos}; loopback only; ` +
      `load generator in its own process.`,
  )
  L.push('')
  L.push('Cases:')
  for (const c of r.settings.cases) L.push(`- ${c}: ${CASE_LABELS[c]}`)
  L.push('')
  L.push(
    '| case | c | req/s | p50 ms | p90 ms | p99 ms | errors | CPU s/1k req: gateway | bundle | bare fastify | B2 responder | load generator |',
  )
  L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const c of r.cases) {
    const p = c.cpuSecondsPer1k
    L.push(
      `| ${c.case} | ${c.concurrency} | ${f(c.rps, 0)} | ${f(c.latencyMs.p50, 3)} | ${f(c.latencyMs.p90, 3)} | ` +
        `${f(c.latencyMs.p99, 3)} | ${c.errors + c.unanswered} | ${f(p.gateway, 3)} | ${f(p.bundle, 3)} | ` +
        `${f(p.bareFastify, 3)} | ${f(p.responder, 3)} | ${f(p.loadGenerator, 3)} |`,
    )
  }
  L.push('')
  L.push('| c | A / B req/s | A p50 − B p50 | A / B2 req/s | A p50 − B2 p50 | A / C req/s | A p50 − C p50 |')
  L.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const x of r.ratios) {
    const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(0)} %`)
    const ms = (v: number | undefined) => (v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(3)} ms`)
    L.push(
      `| ${x.concurrency} | ${pct(x.aOverB)} | ${ms(x.p50DeltaAMinusBMs)} | ${pct(x.aOverB2)} | ${ms(x.p50DeltaAMinusB2Ms)} | ` +
        `${pct(x.aOverC)} | ${ms(x.p50DeltaAMinusCMs)} |`,
    )
  }
  L.push('')
  const fp = r.footprint
  const list = (v: number[]) => v.map((x) => x.toFixed(0)).join(', ')
  L.push('| footprint | value |')
  L.push('| --- | ---: |')
  L.push(
    `| gateway RSS idle / after load / peak | ${f(fp.gatewayIdleRssMiB, 1)} / ${f(fp.gatewayAfterLoadRssMiB, 1)} / ${f(fp.gatewayPeakRssMiB, 1)} ${MIB} |`,
  )
  L.push(
    `| example bundle RSS idle / after load / peak | ${f(fp.bundleIdleRssMiB, 1)} / ${f(fp.bundleAfterLoadRssMiB, 1)} / ${f(fp.bundlePeakRssMiB, 1)} ${MIB} |`,
  )
  L.push(
    `| gateway RSS idle before any bundle connected (start-up samples) | ${(fp.startupSampleGatewayNoBundleRssMiB ?? []).map((v) => f(v, 1)).join(', ')} ${MIB} |`,
  )
  const many = fp.manyBundles
  if (many) {
    const g = many.gatewayRssMiB ?? Number.NaN
    L.push(
      `| gateway + ${many.bundles} bundles, shared host: RSS gateway + host (host PSS) | ${f(g, 1)} + ${f(many.hostRssMiB, 1)} = ${f(g + (many.hostRssMiB ?? Number.NaN), 1)} ${MIB} (${f(many.hostPssMiB, 1)}) |`,
    )
    L.push(
      `| gateway + ${many.bundles} bundles, shared host with --lite-mode (host PSS) | ${f(g, 1)} + ${f(many.hostLiteRssMiB, 1)} = ${f(g + (many.hostLiteRssMiB ?? Number.NaN), 1)} ${MIB} (${f(many.hostLitePssMiB, 1)}) |`,
    )
    L.push(
      `| gateway + ${many.bundles} bundles as processes: RSS (PSS of the bundles) | ${f(g, 1)} + ${f(many.processesRssMiB, 1)} = ${f(g + (many.processesRssMiB ?? Number.NaN), 1)} ${MIB} (${f(many.processesPssMiB, 1)}) |`,
    )
  }
  L.push(`| bare fastify RSS idle (for scale) | ${f(fp.bareFastifyIdleRssMiB, 1)} ${MIB} |`)
  L.push(`| B2 forwarder + responder RSS idle (for scale) | ${f(fp.b2IdleRssMiB, 1)} ${MIB} |`)
  L.push(
    `| gateway spawn → /ready 200 | ${f(fp.gatewaySpawnToReadyMedianMs, 0)} ms median (${list(fp.gatewaySpawnToReadyMs)}) |`,
  )
  L.push(`| gateway banner "ready in" (after config load) | ${fp.gatewayBannerReadyMs} ms |`)
  L.push(
    `| bundle spawn → "Register successfully" | ${f(fp.bundleSpawnToRegisteredMedianMs, 0)} ms median (${list(fp.bundleSpawnToRegisteredMs)}) |`,
  )
  L.push(
    `| gateway start → example registered (banner) | ${fp.exampleRegisteredBannerMs === undefined ? '–' : `${fp.exampleRegisteredBannerMs} ms`} |`,
  )
  L.push('')
  if (r.python && r.python.length > 0) L.push(pythonMarkdown(r.python), '')
  if (r.pythonSkipped) L.push(`Case P skipped: ${r.pythonSkipped}.`, '')
  L.push('| target | wanted | measured | |')
  L.push('| --- | --- | --- | --- |')
  for (const t of r.targets) {
    const verdict = t.met === undefined ? 'n/a' : t.met ? 'met' : '**missed**'
    L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${verdict} |`)
  }
  return L.join('\n')
}

/** Issue 14, item 5: an original-style Python bundle is not slower behind Bundlegate than on its own. */
export function pythonTargets(cases: PythonCase[]): Target[] {
  return cases.map((x) => ({
    name: `P / PD throughput at c${x.concurrency} (Python stand-in via Bundlegate vs alone behind mosquitto)`,
    target: '≥ 90 %',
    measured: Number.isFinite(x.ratio) ? `${(x.ratio * 100).toFixed(0)} %` : 'not measured',
    met: Number.isFinite(x.ratio) ? x.ratio >= 0.9 : undefined,
  }))
}
