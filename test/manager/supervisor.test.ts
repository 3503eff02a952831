import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type Run, Supervisor, type SupervisorPolicy } from '../../src/manager/supervisor.ts'
import type { ManagedState } from '../../src/manager/types.ts'
import { FakeClock } from '../helpers/fake-clock.ts'

const POLICY: SupervisorPolicy = {
  startupTimeoutMs: 60_000,
  probationMs: 60_000,
  restartInitialMs: 1000,
  restartMaxMs: 60_000,
  resetAfterMs: 60_000,
  crashLoopFailures: 5,
  crashLoopWindowMs: 600_000,
  brokenRetryMs: 900_000,
}

/** A supervisor over fake runs: each launch records its exit callback; `registered` is a flag. */
function harness(policy: SupervisorPolicy = POLICY, withRollback = false) {
  const clock = new FakeClock()
  const runs: Array<{ exit: (code: number | null, signal: string | null) => void; killed: boolean }> = []
  const states: ManagedState[] = []
  let registered = false
  const rollbacks: string[] = []
  let passed = 0
  const sup: Supervisor = new Supervisor(clock, policy, {
    async launch(exited) {
      const r = { exit: exited, killed: false }
      runs.push(r)
      const run: Run = {
        pid: 1000 + runs.length,
        kill: async () => {
          r.killed = true
          exited(null, 'SIGTERM')
          return { code: null, signal: 'SIGTERM' }
        },
      }
      return run
    },
    registered: () => registered,
    changed: () => states.push(sup.state),
    ...(withRollback
      ? {
          rollback: async (reason: string) => {
            rollbacks.push(reason)
          },
          probationPassed: () => {
            passed++
          },
        }
      : {}),
  })
  const flush = () => new Promise<void>((r) => setImmediate(r))
  return {
    clock,
    sup,
    runs,
    states,
    rollbacks,
    get passed() {
      return passed
    },
    register(on = true) {
      registered = on
      sup.registrationChanged()
    },
    flush,
  }
}

test('a start reaches running once every resource is registered', async () => {
  const h = harness()
  h.sup.start()
  await h.flush()
  assert.equal(h.sup.state, 'starting')
  assert.equal(h.sup.pid, 1001)
  h.register()
  assert.equal(h.sup.state, 'running')
  assert.deepEqual(h.states, ['starting', 'running'])
})

test('restart after 1 s, doubling to the maximum, and reset after 60 s of running', async () => {
  const h = harness({ ...POLICY, crashLoopFailures: 100, restartMaxMs: 8000 })
  h.sup.start()
  await h.flush()
  const delays: number[] = []
  for (let i = 0; i < 6; i++) {
    h.runs.at(-1)?.exit(1, null)
    assert.equal(h.sup.state, 'backoff')
    delays.push((h.sup.nextRetryAt ?? 0) - h.clock.now())
    h.clock.advance(delays.at(-1) ?? 0)
    await h.flush()
    assert.equal(h.sup.state, 'starting')
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000, 8000])
  assert.equal(h.sup.restarts, 6)
  h.register()
  h.clock.advance(60_000) // 60 s of running resets the delay
  h.runs.at(-1)?.exit(null, 'SIGKILL')
  assert.equal((h.sup.nextRetryAt ?? 0) - h.clock.now(), 1000)
  assert.deepEqual(h.sup.lastExit && { code: h.sup.lastExit.code, signal: h.sup.lastExit.signal }, {
    code: null,
    signal: 'SIGKILL',
  })
})

test('a start that does not reach running within the startup timeout is a failure', async () => {
  const h = harness()
  h.sup.start()
  await h.flush()
  h.clock.advance(59_999)
  assert.equal(h.sup.state, 'starting')
  h.clock.advance(1)
  await h.flush()
  assert.equal(h.runs[0]?.killed, true)
  assert.equal(h.sup.state, 'backoff')
  assert.equal(h.sup.lastExit?.reason, 'startup-timeout')
})

test('5 failures within 10 minutes → broken; it retries after 15 minutes, and a manual start re-arms it', async () => {
  const h = harness()
  h.sup.start()
  await h.flush()
  for (let i = 0; i < 4; i++) {
    h.runs.at(-1)?.exit(1, null)
    h.clock.advance((h.sup.nextRetryAt ?? 0) - h.clock.now())
    await h.flush()
  }
  h.runs.at(-1)?.exit(1, null)
  assert.equal(h.sup.state, 'broken')
  assert.equal((h.sup.nextRetryAt ?? 0) - h.clock.now(), 900_000)
  assert.match(h.sup.message, /5 failures/)
  // the 15-minute retry: a new run, with its chances re-armed (one failure is a backoff again, not broken)
  h.clock.advance(900_000)
  await h.flush()
  assert.equal(h.sup.state, 'starting')
  h.runs.at(-1)?.exit(1, null)
  assert.equal(h.sup.state, 'backoff')
  // broken again, then a manual start re-arms at once
  for (let i = 0; i < 4; i++) {
    h.clock.advance((h.sup.nextRetryAt ?? 0) - h.clock.now())
    await h.flush()
    h.runs.at(-1)?.exit(1, null)
  }
  assert.equal(h.sup.state, 'broken')
  const before = h.runs.length
  h.sup.start()
  await h.flush()
  assert.equal(h.runs.length, before + 1)
  assert.equal(h.sup.failures, 0)
  h.register()
  assert.equal(h.sup.state, 'running')
})

test('failures older than the window do not count towards broken', async () => {
  const h = harness({ ...POLICY, restartMaxMs: 200_000 })
  h.sup.start()
  await h.flush()
  for (let i = 0; i < 10; i++) {
    h.runs.at(-1)?.exit(1, null)
    assert.notEqual(h.sup.state, 'broken', `failure ${i + 1}`)
    h.clock.advance(200_000) // at most 3 failures fall within any 600 s
    await h.flush()
  }
})

test('stop: SIGTERM through the run, then stopped; no restart follows', async () => {
  const h = harness()
  h.sup.start()
  await h.flush()
  h.register()
  await h.sup.stop()
  assert.equal(h.sup.state, 'stopped')
  assert.equal(h.runs[0]?.killed, true)
  assert.equal(h.sup.lastExit?.reason, 'stopped')
  h.clock.advance(3_600_000)
  await h.flush()
  assert.equal(h.runs.length, 1)
  assert.deepEqual(h.states, ['starting', 'running', 'stopping', 'stopped'])
})

test('the memory guard kills the run and counts a failure with reason memory-limit', async () => {
  const h = harness()
  h.sup.start()
  await h.flush()
  h.register()
  h.sup.fail('memory-limit')
  await h.flush()
  assert.equal(h.sup.state, 'backoff')
  assert.equal(h.sup.lastExit?.reason, 'memory-limit')
  assert.equal(h.sup.failures, 1)
})

test('on probation: never registering asks for a rollback, then starts again', async () => {
  const h = harness(POLICY, true)
  h.sup.setProbation(true)
  h.sup.start()
  await h.flush()
  h.clock.advance(60_000)
  await h.flush()
  await h.flush()
  assert.equal(h.rollbacks.length, 1)
  assert.match(h.rollbacks[0] ?? '', /startup timeout/)
  assert.equal(h.sup.state, 'starting') // the previous version
  assert.equal(h.runs.length, 2)
  assert.equal(h.sup.onProbation, false)
})

test('on probation: a failure within probationSec after running rolls back; after it, it does not', async () => {
  const h = harness(POLICY, true)
  h.sup.setProbation(true)
  h.sup.start()
  await h.flush()
  h.register()
  h.clock.advance(30_000)
  h.runs.at(-1)?.exit(1, null)
  await h.flush()
  await h.flush()
  assert.equal(h.rollbacks.length, 1)

  const g = harness(POLICY, true)
  g.sup.setProbation(true)
  g.sup.start()
  await g.flush()
  g.register()
  g.clock.advance(60_000)
  assert.equal(g.passed, 1)
  g.runs.at(-1)?.exit(1, null)
  assert.equal(g.rollbacks.length, 0)
  assert.equal(g.sup.state, 'backoff')
})
