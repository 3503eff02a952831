/**
 * The load generator, a process of its own (forked by run.ts, IPC channel required). It receives one LoadSpec,
 * connects, keeps `concurrency` requests in flight through a warm-up and then a measured window, and reports
 * `measure-start` / `measure-end` at the window's edges (run.ts samples the servers' CPU time there) and the result.
 * @module
 */
import { performance } from 'node:perf_hooks'
import type { Driver } from './driver.ts'
import { Histogram } from './histogram.ts'
import { httpDriver } from './http-keepalive-client.ts'
import type { LoadEvent, LoadResult, LoadSpec } from './load-spec.ts'
import { mqttDriver } from './mqtt-roundtrip.ts'

const DRAIN_MS = 5000

function send(event: LoadEvent): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve()
    else process.send(event, undefined, undefined, () => resolve())
  })
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const driver: Driver = spec.target.kind === 'http' ? httpDriver(spec.target) : mqttDriver(spec.target)
  const c = spec.concurrency
  await driver.open(c)
  await send({ type: 'ready' })

  let phase: 'warmup' | 'measure' | 'drain' = 'warmup'
  const hist = new Histogram()
  const errorKinds: Record<string, number> = {}
  let ok = 0
  let errors = 0
  let inflight = 0
  const startedAt = new Float64Array(c)
  const seq = new Uint32Array(c)
  let drained: () => void = () => undefined

  const fire = (slot: number): void => {
    if (phase === 'drain') {
      startedAt[slot] = 0
      if (--inflight === 0) drained()
      return
    }
    const mine = ++seq[slot]!
    const t0 = performance.now()
    startedAt[slot] = t0
    driver.issue(slot, (failure) => {
      if (seq[slot] !== mine) return // timed out meanwhile
      const t1 = performance.now()
      if (phase === 'measure') {
        if (failure === undefined) {
          ok++
          hist.record((t1 - t0) * 1000)
        } else {
          errors++
          errorKinds[failure] = (errorKinds[failure] ?? 0) + 1
        }
      }
      fire(slot)
    })
  }

  const sweep = setInterval(() => {
    const now = performance.now()
    for (let slot = 0; slot < c; slot++) {
      const t0 = startedAt[slot]!
      if (t0 === 0 || now - t0 < spec.requestTimeoutMs) continue
      seq[slot]!++
      driver.reset(slot)
      if (phase === 'measure') {
        errors++
        errorKinds.timeout = (errorKinds.timeout ?? 0) + 1
      }
      fire(slot)
    }
  }, 250)

  inflight = c
  for (let slot = 0; slot < c; slot++) fire(slot)

  await new Promise((r) => setTimeout(r, spec.warmupMs))
  phase = 'measure'
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await send({ type: 'measure-start' })
  await new Promise((r) => setTimeout(r, spec.durationMs))
  const elapsedMs = performance.now() - t0
  phase = 'drain'
  const cpu = process.cpuUsage(cpu0)
  await send({ type: 'measure-end' })

  const result: LoadResult = {
    ok,
    errors,
    errorKinds,
    unanswered: 0,
    elapsedMs,
    histogram: hist.toJSON(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  }
  // Let the requests in flight finish (they are not counted) so that the servers are idle when we exit.
  if (inflight > 0) {
    await Promise.race([
      new Promise<void>((resolve) => {
        drained = resolve
      }),
      new Promise((r) => setTimeout(r, DRAIN_MS)),
    ])
  }
  clearInterval(sweep)
  result.unanswered = inflight
  await driver.close()
  return result
}

process.once('message', (spec: LoadSpec) => {
  run(spec).then(
    async (result) => {
      await send({ type: 'result', result })
      process.exit(0)
    },
    async (err: unknown) => {
      await send({ type: 'failed', message: err instanceof Error ? err.message : String(err) })
      process.exit(1)
    },
  )
})
// The orchestrator is gone: so are we.
process.on('disconnect', () => process.exit(1))
