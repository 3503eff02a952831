/**
 * The benchmark's settings, from the environment and `--quick`, read once and checked. See benchmarks/README.md.
 * @module
 */
import type { CaseName } from './report.ts'

const CASES: readonly CaseName[] = ['A', 'B', 'B2', 'C']

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`Expected ${name} to be a number ≥ 0, got "${raw}"`)
  return n
}

/** `--quick` (a developer's loop, under a minute): 3 s per case after 1 s of warm-up, concurrency 1 and 16. */
const quick = process.argv.includes('--quick')
const seconds = envNumber('BENCH_SECONDS', quick ? 3 : 10)

export const settings = {
  quick,
  seconds,
  warmupSeconds: envNumber('BENCH_WARMUP_SECONDS', quick ? 1 : seconds >= 4 ? 2 : Math.max(0.5, seconds / 2)),
  rounds: Math.max(1, Math.floor(envNumber('BENCH_ROUNDS', 1))),
  concurrency: (process.env.BENCH_CONCURRENCY || (quick ? '1,16' : '1,16,64')).split(',').map((s) => {
    const n = Number(s.trim())
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`Expected BENCH_CONCURRENCY to list integers ≥ 1, got "${s}"`)
    return n
  }),
  cases: (process.env.BENCH_CASES || CASES.join(',')).split(',').map((s) => {
    const c = s.trim().toUpperCase() as CaseName
    if (!CASES.includes(c)) throw new Error(`Expected BENCH_CASES to list ${CASES.join(', ')}, got "${s}"`)
    return c
  }),
  /** QoS of case C's requests: 1, as our SDK publishes by default (wire-protocol.md §2.2). */
  mqttQos: envNumber('BENCH_MQTT_QOS', 1) as 0 | 1 | 2,
  /** Bundles of the many-bundles footprint (shared host vs processes); 0 skips it (the default of --quick). */
  manyBundles: Math.floor(envNumber('BENCH_MANY', quick ? 0 : 10)),
  /** How long the many bundles idle before their memory is read (it grows for ~20 s after registering). */
  manySettleMs: envNumber('BENCH_MANY_SETTLE_MS', 20_000),
  /** Case P (the Python stand-in via the gateway vs alone behind mosquitto): its concurrencies; empty skips it. */
  pythonConcurrency: (process.env.BENCH_PYTHON_CONCURRENCY ?? (quick ? '16' : '16,64'))
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number),
  startupRuns: Math.floor(envNumber('BENCH_STARTUP_RUNS', quick ? 1 : 3)),
  settleMs: envNumber('BENCH_SETTLE_MS', quick ? 300 : 1000),
  requestTimeoutMs: envNumber('BENCH_REQUEST_TIMEOUT_MS', 10_000),
  startTimeoutMs: envNumber('BENCH_START_TIMEOUT_MS', 20_000),
}
if (![0, 1, 2].includes(settings.mqttQos))
  throw new Error(`Expected BENCH_MQTT_QOS 0, 1 or 2, got ${settings.mqttQos}`)
