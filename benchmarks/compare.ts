/**
 * Compares two benchmark results (two runs of `npm run bench`, e.g. on two branches):
 *   node --import tsx benchmarks/compare.ts base.json candidate.json
 * Prints a Markdown table per case (req/s, p50, p99, gateway CPU per 1,000 requests) and the footprint, with the
 * change from base to candidate. Numbers from different machines, or from a busy machine, do not compare.
 * @module
 */
import { readFileSync } from 'node:fs'
import type { CaseResult, Report } from './report.ts'

const [basePath, candPath] = process.argv.slice(2)
if (!basePath || !candPath) {
  process.stderr.write('usage: node --import tsx benchmarks/compare.ts base.json candidate.json\n')
  process.exit(2)
}
const base = JSON.parse(readFileSync(basePath, 'utf8')) as Report
const cand = JSON.parse(readFileSync(candPath, 'utf8')) as Report

const pct = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || a === 0
    ? '–'
    : `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)} %`
const n = (v: number | undefined, d: number) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d))
const pair = (a: number | undefined, b: number | undefined, d: number) =>
  `${n(a, d)} → ${n(b, d)} (${pct(a, b)})`

const L: string[] = []
L.push(
  `base      ${base.git.branch} ${base.git.commit.slice(0, 12)}${base.git.dirty ? '+dirty' : ''}, ${base.date}`,
)
L.push(
  `candidate ${cand.git.branch} ${cand.git.commit.slice(0, 12)}${cand.git.dirty ? '+dirty' : ''}, ${cand.date}`,
)
if (base.machine.cpuModel !== cand.machine.cpuModel || base.machine.cpus !== cand.machine.cpus)
  L.push('warning: the two runs were made on different machines')
L.push('')
L.push('| case | c | req/s | p50 ms | p99 ms | gateway CPU s/1k |')
L.push('| --- | ---: | --- | --- | --- | --- |')
const key = (c: CaseResult) => `${c.case}${c.concurrency}`
const baseCases = new Map(base.cases.map((c) => [key(c), c]))
for (const c of cand.cases) {
  const b = baseCases.get(key(c))
  if (!b) continue
  L.push(
    `| ${c.case} | ${c.concurrency} | ${pair(b.rps, c.rps, 0)} | ${pair(b.latencyMs.p50, c.latencyMs.p50, 3)} | ` +
      `${pair(b.latencyMs.p99, c.latencyMs.p99, 3)} | ` +
      `${pair(b.cpuSecondsPer1k.gateway, c.cpuSecondsPer1k.gateway, 3)} |`,
  )
}
L.push('')
L.push('| footprint | base → candidate |')
L.push('| --- | --- |')
const fb = base.footprint
const fc = cand.footprint
L.push(`| gateway idle RSS MiB | ${pair(fb.gatewayIdleRssMiB, fc.gatewayIdleRssMiB, 1)} |`)
L.push(`| gateway after-load RSS MiB | ${pair(fb.gatewayAfterLoadRssMiB, fc.gatewayAfterLoadRssMiB, 1)} |`)
L.push(`| bundle idle RSS MiB | ${pair(fb.bundleIdleRssMiB, fc.bundleIdleRssMiB, 1)} |`)
L.push(`| bundle after-load RSS MiB | ${pair(fb.bundleAfterLoadRssMiB, fc.bundleAfterLoadRssMiB, 1)} |`)
L.push(
  `| gateway spawn → ready ms | ${pair(fb.gatewaySpawnToReadyMedianMs, fc.gatewaySpawnToReadyMedianMs, 0)} |`,
)
L.push(
  `| bundle spawn → registered ms | ${pair(fb.bundleSpawnToRegisteredMedianMs, fc.bundleSpawnToRegisteredMedianMs, 0)} |`,
)
L.push('')
L.push('| target | base | candidate |')
L.push('| --- | --- | --- |')
const verdict = (m: boolean | undefined) => (m === undefined ? 'n/a' : m ? 'met' : 'missed')
for (const t of cand.targets) {
  const b = base.targets.find((x) => x.name === t.name)
  L.push(
    `| ${t.name} (${t.target}) | ${b ? `${b.measured}, ${verdict(b.met)}` : '–'} | ${t.measured}, ${verdict(t.met)} |`,
  )
}
process.stdout.write(`${L.join('\n')}\n`)
