/**
 * One case of the benchmark: a load-generator process per run (with the CPU time of the watched processes sampled
 * at the edges of its measured window), and several runs of one case merged into one result.
 * @module
 */
import { fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Histogram } from './histogram.ts'
import type { LoadEvent, LoadResult, LoadSpec } from './load-spec.ts'
import { cpuSeconds } from './proc-stats.ts'
import { stopChild, track } from './processes.ts'
import type { CaseName, CaseResult, ProcessName } from './report.ts'

const HERE = dirname(fileURLToPath(import.meta.url))

export interface Watched {
  name: ProcessName
  pid: number
}

/**
 * Runs one load-generator process; samples the CPU time of the watched processes at the edges of its measured
 * window (it tells us over IPC).
 */
export async function runLoad(
  spec: LoadSpec,
  watched: Watched[],
): Promise<{ result: LoadResult; cpu: Partial<Record<ProcessName, number>> }> {
  const child = track(
    fork(join(HERE, 'load-generator.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  )
  const limitMs = spec.warmupMs + spec.durationMs + 30_000
  const before = new Map<ProcessName, number>()
  const cpu: Partial<Record<ProcessName, number>> = {}
  try {
    const result = await new Promise<LoadResult>((resolveResult, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`load generator still running after ${limitMs} ms`)),
        limitMs,
      )
      child.on('message', (e: LoadEvent) => {
        if (e.type === 'measure-start') {
          for (const w of watched) before.set(w.name, cpuSeconds(w.pid) ?? Number.NaN)
        } else if (e.type === 'measure-end') {
          for (const w of watched)
            cpu[w.name] = (cpuSeconds(w.pid) ?? Number.NaN) - (before.get(w.name) ?? Number.NaN)
        } else if (e.type === 'result') {
          clearTimeout(timer)
          resolveResult(e.result)
        } else if (e.type === 'failed') {
          clearTimeout(timer)
          reject(new Error(`load generator: ${e.message}`))
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`load generator exited (${signal ?? `code ${code}`}) before reporting`))
      })
      child.send(spec)
    })
    cpu.loadGenerator = result.cpuSeconds
    return { result, cpu }
  } finally {
    await stopChild(child, 2000)
  }
}

/** Several rounds of one case merged: counts and windows add up, histograms merge. */
export function summarise(
  name: CaseName,
  concurrency: number,
  runs: Array<Awaited<ReturnType<typeof runLoad>>>,
): CaseResult {
  const hist = new Histogram()
  let ok = 0
  let errors = 0
  let unanswered = 0
  let ms = 0
  const errorKinds: Record<string, number> = {}
  const cpu: Partial<Record<ProcessName, number>> = {}
  for (const { result, cpu: c } of runs) {
    hist.merge(result.histogram)
    ok += result.ok
    errors += result.errors
    unanswered += result.unanswered
    ms += result.elapsedMs
    for (const [k, v] of Object.entries(result.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v
    for (const [k, v] of Object.entries(c)) cpu[k as ProcessName] = (cpu[k as ProcessName] ?? 0) + v
  }
  const per1k: Partial<Record<ProcessName, number>> = {}
  for (const [k, v] of Object.entries(cpu)) per1k[k as ProcessName] = ok > 0 ? v / (ok / 1000) : Number.NaN
  return {
    case: name,
    concurrency,
    rounds: runs.length,
    ok,
    errors,
    errorKinds,
    unanswered,
    seconds: ms / 1000,
    rps: ok / (ms / 1000),
    latencyMs: {
      p50: hist.percentile(50) / 1000,
      p90: hist.percentile(90) / 1000,
      p99: hist.percentile(99) / 1000,
      max: hist.maxUs / 1000,
      mean: hist.meanUs / 1000,
    },
    cpuSecondsPer1k: per1k,
    cpuSeconds: cpu,
  }
}
