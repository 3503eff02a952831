/**
 * The life of one managed bundle (docs/manager.md "States" and "Restart policy"), as a state machine on an
 * injectable clock: the process itself is behind {@link SupervisorHooks.launch}, so most of it is tested with a
 * fake clock and fake runs.
 *
 * starting → running once every resource of its manifest is registered; a start that does not get there within
 * the startup timeout, an exit, or a kill by the memory guard is a failure: `backoff` (1 s, doubling to 60 s, reset
 * after 60 s of running), and 5 failures within 10 minutes → `broken`, tried again every 15 minutes. A failure
 * while on probation (the first run after an upgrade, until `probationMs` after it reached running) asks the
 * manager to roll back instead.
 * @module
 */

import type { Clock } from '../controller/index.ts'
import type { LastExit, ManagedState } from './types.ts'

/** The numbers of the restart policy, in ms (docs/config.md `manager.*`). */
export interface SupervisorPolicy {
  startupTimeoutMs: number
  probationMs: number
  restartInitialMs: number
  restartMaxMs: number
  resetAfterMs: number
  crashLoopFailures: number
  crashLoopWindowMs: number
  brokenRetryMs: number
}

/** One started process. */
export interface Run {
  pid: number | null
  /** SIGTERM, SIGKILL after the stop timeout; resolves with how it ended once it has exited. */
  kill(): Promise<{ code: number | null; signal: string | null }>
}

/** What the supervisor needs from the manager. */
export interface SupervisorHooks {
  /** Starts a run; `exited` is called once when it ends. Throws (rejects) when it cannot be started. */
  launch(exited: (code: number | null, signal: string | null) => void): Promise<Run>
  /** Whether every resource of the bundle's manifest is registered with the controller now. */
  registered(): boolean
  /** The state changed (also called when only the message or retry time changed). */
  changed(previous: ManagedState): void
  /** A failure on probation: switch back to the previous version; the supervisor starts again afterwards. */
  rollback?(reason: string): Promise<void>
  /** The new version passed its probation. */
  probationPassed?(): void
}

/** The failure reasons that are counted (LastExit.reason). */
export type FailureReason = 'exit' | 'startup-timeout' | 'memory-limit' | 'probation' | 'spawn-error'

export class Supervisor {
  readonly #clock: Clock
  readonly #policy: SupervisorPolicy
  readonly #hooks: SupervisorHooks
  #state: ManagedState
  #run: Run | undefined
  #gen = 0
  #failures: number[] = []
  #consecutive = 0
  #timers = new Set<unknown>()
  #startupTimer: unknown
  #retryTimer: unknown
  #killReason: FailureReason | undefined
  #stopping = false
  #probation = false
  /** The message a start was given (an upgrade, a rollback): shown again once running. */
  #note = ''
  restarts = 0
  lastExit: LastExit | null = null
  startedAt: number | null = null
  runningSince: number | null = null
  nextRetryAt: number | null = null
  message = ''

  constructor(
    clock: Clock,
    policy: SupervisorPolicy,
    hooks: SupervisorHooks,
    initial: ManagedState = 'installed',
  ) {
    this.#clock = clock
    this.#policy = policy
    this.#hooks = hooks
    this.#state = initial
  }

  get state(): ManagedState {
    return this.#state
  }

  get pid(): number | null {
    return this.#run?.pid ?? null
  }

  /** Failures counted in the crash-loop window now. */
  get failures(): number {
    this.#prune()
    return this.#failures.length
  }

  /** The next run is the first of a new version: a failure before it passed probation rolls back. */
  setProbation(on: boolean): void {
    this.#probation = on
  }

  get onProbation(): boolean {
    return this.#probation
  }

  /**
   * Starts unless starting or running. `rearm` (a manual start, an upgrade, a gateway start) forgets the failures
   * counted so far and the backoff, so a `broken` bundle gets its full chances again.
   */
  start(rearm = true, message = ''): void {
    if (this.#state === 'starting' || this.#state === 'running' || this.#state === 'stopping') return
    if (rearm) {
      this.#failures = []
      this.#consecutive = 0
    }
    this.#clearRetry()
    this.message = message
    this.#note = message
    void this.#launch()
  }

  /** Stops (SIGTERM, then SIGKILL) and stays `stopped` until started again. */
  async stop(message = 'stopped'): Promise<void> {
    this.#clearRetry()
    this.#clearTimer('startup')
    this.#gen++ // a launch under way is abandoned
    this.#clearRunTimers()
    const run = this.#run
    if (run) {
      this.#stopping = true
      this.#set('stopping', message)
      let ending: { code: number | null; signal: string | null } = { code: null, signal: null }
      try {
        ending = await run.kill()
      } finally {
        this.#stopping = false
      }
      this.#ended()
      this.lastExit = { ...ending, at: this.#iso(), reason: 'stopped' }
    }
    this.nextRetryAt = null
    this.#set('stopped', message)
  }

  /** Kills the current run and counts it as a failure (the memory guard). */
  fail(reason: FailureReason): void {
    const run = this.#run
    if (!run || this.#stopping || this.#killReason) return
    this.#killReason = reason
    void run.kill()
  }

  /** The controller's registry changed: maybe every resource is registered now. */
  registrationChanged(): void {
    if (this.#state === 'starting' && this.#run && this.#hooks.registered()) this.#becameRunning()
  }

  /** Stops every timer (the manager closes; the run is stopped separately). */
  dispose(): void {
    for (const t of this.#timers) this.#clock.clearTimeout(t)
    this.#timers.clear()
    this.#gen++
  }

  async #launch(): Promise<void> {
    const gen = ++this.#gen
    this.#killReason = undefined
    this.startedAt = this.#clock.now()
    this.runningSince = null
    this.nextRetryAt = null
    this.#set('starting', this.message)
    this.#startupTimer = this.#after(this.#policy.startupTimeoutMs, () => {
      this.#startupTimer = undefined
      if (this.#state === 'starting' && this.#run) this.fail('startup-timeout')
    })
    let run: Run
    try {
      run = await this.#hooks.launch((code, signal) => {
        if (this.#run === run) this.#exited(code, signal)
      })
    } catch (err) {
      if (gen !== this.#gen) return
      this.#failure('spawn-error', null, null, (err as Error).message)
      return
    }
    if (gen !== this.#gen) {
      void run.kill() // stopped while it was being launched
      return
    }
    this.#run = run
    this.registrationChanged()
  }

  #becameRunning(): void {
    this.#clearTimer('startup')
    this.runningSince = this.#clock.now()
    this.#after(this.#policy.resetAfterMs, () => {
      if (this.#state === 'running') this.#consecutive = 0
    })
    if (this.#probation)
      this.#after(this.#policy.probationMs, () => {
        if (this.#state !== 'running' || !this.#probation) return
        this.#probation = false
        this.#hooks.probationPassed?.()
      })
    this.#set('running', this.#note)
  }

  #exited(code: number | null, signal: string | null): void {
    if (this.#stopping) return // stop() finishes
    const reason = this.#killReason ?? 'exit'
    this.#ended()
    this.#failure(reason, code, signal)
  }

  #ended(): void {
    this.#run = undefined
    this.#killReason = undefined
    this.startedAt = null
    this.runningSince = null
    this.#clearTimer('startup')
    this.#clearRunTimers()
  }

  #failure(reason: FailureReason, code: number | null, signal: string | null, detail = ''): void {
    const now = this.#clock.now()
    this.lastExit = { code, signal, at: this.#iso(), reason }
    const why = describeFailure(reason, code, signal, detail)
    if (this.#probation && this.#hooks.rollback) {
      this.#probation = false
      this.nextRetryAt = now
      this.#set('backoff', `rolling back: ${why}`)
      const gen = this.#gen
      void this.#hooks.rollback(why).finally(() => {
        if (gen === this.#gen && this.#state === 'backoff') this.start(true, this.message)
      })
      return
    }
    this.#failures.push(now)
    this.#prune()
    if (this.#failures.length >= this.#policy.crashLoopFailures) {
      this.#scheduleRetry(this.#policy.brokenRetryMs, true)
      const n = this.#failures.length
      this.#set(
        'broken',
        `${n} failures within ${Math.round(this.#policy.crashLoopWindowMs / 1000)} s (last: ${why}); retrying at ${new Date(this.nextRetryAt ?? now).toISOString()}`,
      )
      return
    }
    const delay = Math.min(this.#policy.restartInitialMs * 2 ** this.#consecutive, this.#policy.restartMaxMs)
    this.#consecutive++
    this.#scheduleRetry(delay, false)
    this.#set('backoff', `${why}; restarting in ${formatMs(delay)}`)
  }

  #scheduleRetry(ms: number, rearm: boolean): void {
    this.#clearRetry()
    this.nextRetryAt = this.#clock.now() + ms
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined
      if (this.#state !== 'backoff' && this.#state !== 'broken') return
      this.restarts++
      if (rearm) {
        this.#failures = []
        this.#consecutive = 0
      }
      void this.#launch()
    }, ms)
  }

  #prune(): void {
    const since = this.#clock.now() - this.#policy.crashLoopWindowMs
    this.#failures = this.#failures.filter((t) => t > since)
  }

  #set(state: ManagedState, message: string): void {
    const previous = this.#state
    this.#state = state
    this.message = message
    this.#hooks.changed(previous)
  }

  #after(ms: number, fn: () => void): unknown {
    const t = this.#clock.setTimeout(() => {
      this.#timers.delete(t)
      fn()
    }, ms)
    this.#timers.add(t)
    return t
  }

  #clearTimer(which: 'startup'): void {
    if (which === 'startup' && this.#startupTimer !== undefined) {
      this.#clock.clearTimeout(this.#startupTimer)
      this.#timers.delete(this.#startupTimer)
      this.#startupTimer = undefined
    }
  }

  /** The reset and probation timers belong to one run. */
  #clearRunTimers(): void {
    for (const t of this.#timers) this.#clock.clearTimeout(t)
    this.#timers.clear()
    this.#startupTimer = undefined
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.nextRetryAt = null
  }

  #iso(): string {
    return new Date(this.#clock.now()).toISOString()
  }
}

function describeFailure(
  reason: FailureReason,
  code: number | null,
  signal: string | null,
  detail: string,
): string {
  switch (reason) {
    case 'startup-timeout':
      return 'did not register its resources within the startup timeout'
    case 'memory-limit':
      return 'over its memory limit'
    case 'spawn-error':
      return `could not be started: ${detail}`
    default:
      return signal ? `killed by ${signal}` : `exited with code ${code}`
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`
}
