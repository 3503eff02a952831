import { EventEmitter } from 'node:events'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Logger } from '../logger.ts'
import { isPong, type WorkerData } from './host-messages.ts'
import { WORKER_ENTRY_SOURCE } from './worker-entry.ts'

/** One bundle to run in the shared host. */
export interface HostedBundleSpec {
  /** The bundle's name (its manifest's). */
  name: string
  /** Absolute path of its JavaScript entry point. */
  main: string
  /** Environment of the worker on top of the host's (`BROKER_URL`, `BUNDLE_DIR`, credentials, …). */
  env: Record<string, string>
}

/** Limits and timings of the host; the defaults fit a gateway (docs/host.md). */
export interface HostLimits {
  /** V8 old-generation limit of each bundle, MiB: past it the worker ends with `out-of-memory`. */
  heapMb: number
  /** V8 young-generation limit of each bundle, MiB (small: idle bundles keep less memory resident). */
  youngMb: number
  /** The host pings each bundle's event loop this often… */
  pingMs: number
  /** …and ends a bundle whose loop has not answered for this long (`unresponsive`: an endless loop). */
  unresponsiveMs: number
  /** Before its first answer a bundle is loading its code: it gets this much longer. */
  startGraceMs: number
  /** First restart delay after an exit; doubles at each exit in a row… */
  restartMs: number
  /** …up to this. */
  maxRestartMs: number
  /** A bundle that ran this long starts again from the first delay. */
  resetAfterMs: number
  /** A stop waits this long for the bundle's own shutdown, then ends the thread. */
  stopTimeoutMs: number
}

export const HOST_DEFAULTS: Readonly<HostLimits> = Object.freeze({
  heapMb: 64,
  youngMb: 2,
  pingMs: 5000,
  unresponsiveMs: 15_000,
  startGraceMs: 30_000,
  restartMs: 1000,
  maxRestartMs: 60_000,
  resetAfterMs: 60_000,
  stopTimeoutMs: 10_000,
})

/** Why a bundle's thread ended. */
export type HostedExit =
  | { kind: 'exit'; code: number }
  | { kind: 'error'; message: string }
  | { kind: 'out-of-memory' }
  | { kind: 'unresponsive'; silentMs: number }

export type HostedState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped'

/** What `status()` tells about one bundle. */
export interface HostedStatus {
  name: string
  state: HostedState
  /** Exits that were followed by a restart. */
  restarts: number
  lastExit: (HostedExit & { at: string }) | null
  /** When the thread started (running), or null. */
  startedAt: string | null
  /** When the next start is due (backoff), or null. */
  nextStartAt: string | null
  threadId: number | null
}

/**
 * One bundle in a worker thread of the shared host: started, watched (exit, uncaught error, heap limit, a blocked
 * event loop) and restarted with a doubling delay, without touching the other bundles of the host.
 * Emits `state` with a {@link HostedStatus} at every change.
 */
export class HostedBundle extends EventEmitter<{ state: [HostedStatus] }> {
  readonly spec: HostedBundleSpec
  readonly #limits: HostLimits
  readonly #log: Logger
  #state: HostedState = 'stopped'
  #worker: Worker | undefined
  #exited: Promise<void> = Promise.resolve()
  #reason: HostedExit | undefined
  #restarts = 0
  #attempt = 0
  #lastExit: HostedStatus['lastExit'] = null
  #startedAt = 0
  #nextStartAt = 0
  #lastPong = 0
  #answered = false
  /** A check found the bundle silent; the next one confirms (pongs queued while this thread was busy count). */
  #suspect = false
  #ping: NodeJS.Timeout | undefined
  #restart: NodeJS.Timeout | undefined

  constructor(spec: HostedBundleSpec, limits: HostLimits, log: Logger) {
    super()
    this.spec = spec
    this.#limits = limits
    this.#log = log.child({ bundle: spec.name })
  }

  get state(): HostedState {
    return this.#state
  }

  status(): HostedStatus {
    return {
      name: this.spec.name,
      state: this.#state,
      restarts: this.#restarts,
      lastExit: this.#lastExit,
      startedAt: this.#state === 'running' ? new Date(this.#startedAt).toISOString() : null,
      nextStartAt: this.#state === 'backoff' ? new Date(this.#nextStartAt).toISOString() : null,
      threadId: this.#worker?.threadId ?? null,
    }
  }

  /** Starts the thread (also from `backoff`, at once). */
  start(): void {
    if (this.#state === 'running' || this.#state === 'starting' || this.#state === 'stopping') return
    clearTimeout(this.#restart)
    this.#set('starting')
    const worker = new Worker(WORKER_ENTRY_SOURCE, {
      eval: true,
      workerData: { main: pathToFileURL(this.spec.main).href } satisfies WorkerData,
      env: { ...process.env, ...this.spec.env },
      resourceLimits: {
        maxOldGenerationSizeMb: this.#limits.heapMb,
        maxYoungGenerationSizeMb: this.#limits.youngMb,
      },
      name: `bundle ${this.spec.name}`,
    })
    this.#worker = worker
    this.#reason = undefined
    this.#answered = false
    this.#suspect = false
    this.#exited = new Promise((resolve) =>
      worker.once('exit', (code) => resolve(this.#onExit(worker, code))),
    )
    worker.on('message', (m: unknown) => {
      if (!isPong(m)) return
      this.#lastPong = Date.now()
      this.#answered = true
    })
    worker.on('error', (err: Error & { code?: string }) => {
      this.#reason ??=
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? { kind: 'out-of-memory' }
          : { kind: 'error', message: err.message }
    })
    worker.once('online', () => {
      this.#startedAt = Date.now()
      this.#lastPong = this.#startedAt
      this.#ping = setInterval(() => this.#checkAlive(worker), this.#limits.pingMs)
      this.#ping.unref()
      if (this.#state === 'starting') this.#set('running')
    })
  }

  /** Stops the bundle as SIGTERM would, and ends its thread after `stopTimeoutMs`. No restart follows. */
  async stop(): Promise<void> {
    clearTimeout(this.#restart)
    const worker = this.#worker
    if (!worker || this.#state === 'stopped' || this.#state === 'backoff') {
      this.#set('stopped')
      return
    }
    this.#set('stopping')
    worker.postMessage({ type: 'bundlegate:stop' })
    const timer = setTimeout(() => void worker.terminate(), this.#limits.stopTimeoutMs)
    await this.#exited
    clearTimeout(timer)
  }

  #checkAlive(worker: Worker): void {
    const silentMs = Date.now() - this.#lastPong
    const allowed = this.#limits.unresponsiveMs + (this.#answered ? 0 : this.#limits.startGraceMs)
    if (silentMs <= allowed) this.#suspect = false
    else if (!this.#suspect)
      this.#suspect = true // a loop turn later, messages that were queued have been read
    else {
      this.#reason ??= { kind: 'unresponsive', silentMs }
      this.#log.warn({ silentMs }, 'bundle does not answer pings (blocked event loop?): ending its thread')
      void worker.terminate()
      return
    }
    worker.postMessage({ type: 'bundlegate:ping', n: Date.now() })
  }

  #onExit(worker: Worker, code: number): void {
    clearInterval(this.#ping)
    if (this.#worker === worker) this.#worker = undefined
    const reason: HostedExit = this.#reason ?? { kind: 'exit', code }
    this.#lastExit = { ...reason, at: new Date().toISOString() }
    if (this.#state === 'stopping') {
      this.#log.info({ exit: reason }, 'bundle stopped')
      this.#set('stopped')
      return
    }
    const ranMs = this.#startedAt > 0 ? Date.now() - this.#startedAt : 0
    if (ranMs >= this.#limits.resetAfterMs) this.#attempt = 0
    const delay = Math.min(this.#limits.restartMs * 2 ** this.#attempt, this.#limits.maxRestartMs)
    this.#attempt++
    this.#restarts++
    this.#nextStartAt = Date.now() + delay
    this.#log.warn({ exit: reason, ranMs, restartInMs: delay }, 'bundle ended: restarting')
    this.#set('backoff')
    this.#restart = setTimeout(() => this.start(), delay) // ref'd: the host stays up for a bundle in backoff
  }

  #set(state: HostedState): void {
    if (this.#state === state) return
    this.#state = state
    this.emit('state', this.status())
  }
}
