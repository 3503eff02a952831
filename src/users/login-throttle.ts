/**
 * Slows down password guessing ([HA-10]: "after a growing delay"). Failures are counted per username and per
 * client address; an attempt first waits `delayFor(max(count))`, which doubles with every failure up to a cap.
 * Attempts from one address run one at a time, whatever their usernames, so parallel connections neither get around
 * the delay nor make the process hash many passwords at once; an address's queue never holds up another address's
 * attempts (a guesser cannot lock the real user out, the username's delay is all it costs them). Password checks
 * (scrypt) run at most `maxChecks` at once in the whole process, and at most `maxPending` attempts wait in all.
 * An attempt beyond these bounds is refused unchecked, with the time to retry after ([HA-12]: 429). Memory is
 * bounded: at most `maxEntries` counters (the oldest is forgotten first), each forgotten after `forgetMs` without
 * a failure, and the queues hold at most `maxPending` attempts.
 * @module
 */

/** Options of {@link LoginThrottle}. */
export interface LoginThrottleOptions {
  /** The wait after the first failure; each further failure doubles it. @default 250 */
  baseDelayMs?: number
  /** The longest wait. @default 15_000 */
  maxDelayMs?: number
  /** A counter is forgotten this long after its last failure. @default 900_000 (15 min) */
  forgetMs?: number
  /** At most this many counters. @default 10_000 */
  maxEntries?: number
  /** At most this many attempts waiting from one client address; more are refused at once, unchecked. @default 8 */
  maxQueued?: number
  /** At most this many attempts waiting or running in the whole process; more are refused unchecked. @default 64 */
  maxPending?: number
  /** At most this many password checks (scrypt) at once in the whole process. @default 2 */
  maxChecks?: number
  /** @default Date.now */
  now?: () => number
  /** @default setTimeout as a promise */
  sleep?: (ms: number) => Promise<void>
}

/** How an attempt went. */
export interface AttemptResult<T> {
  /** The attempt's value, `undefined` when it failed or was refused. */
  value: T | undefined
  /** How long the attempt waited before it was checked. */
  waitedMs: number
  /** Failures counted for this username (after this attempt). */
  failures: number
  /** The wait the next attempt will get. */
  nextDelayMs: number
  /** Too many attempts were already waiting (from this address, or in all): this one was not checked. */
  refused: boolean
  /** When refused: how long to wait before trying again (at least 1 s); otherwise 0. */
  retryAfterMs: number
}

interface Counter {
  failures: number
  lastAt: number
}

/** Per-username and per-address failure counters with a growing delay. */
export class LoginThrottle {
  readonly #o: Required<LoginThrottleOptions>
  readonly #counters = new Map<string, Counter>()
  /** One queue per client address. */
  readonly #queues = new Map<string, { tail: Promise<unknown>; waiting: number }>()
  /** Attempts waiting or running, all addresses together. */
  #pending = 0
  /** Password checks running, and the attempts waiting for one to end. */
  #checking = 0
  readonly #checkWaiters: Array<() => void> = []

  constructor(options: LoginThrottleOptions = {}) {
    this.#o = {
      baseDelayMs: 250,
      maxDelayMs: 15_000,
      forgetMs: 900_000,
      maxEntries: 10_000,
      maxQueued: 8,
      maxPending: 64,
      maxChecks: 2,
      now: Date.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...options,
    }
  }

  /** The wait before an attempt after `failures` failures: 0, then base, 2 × base, 4 × base … up to the cap. */
  delayFor(failures: number): number {
    if (failures <= 0) return 0
    return Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** Math.min(failures - 1, 30))
  }

  /** Failures currently counted for `key` (`user:<name>` or `ip:<address>`). */
  failures(key: string): number {
    const c = this.#counters.get(key)
    if (c === undefined) return 0
    if (this.#o.now() - c.lastAt >= this.#o.forgetMs) {
      this.#counters.delete(key)
      return 0
    }
    return c.failures
  }

  /**
   * Runs `check` (which answers a value on success, `undefined` on failure) for `username` from `ip`: after the
   * earlier attempts from the same address, after the delay the username's and the address's failures earned, and
   * when one of the process's `maxChecks` password checks is free.
   */
  async attempt<T>(
    username: string,
    ip: string,
    check: () => Promise<T | undefined>,
  ): Promise<AttemptResult<T>> {
    const userKey = `user:${username}`
    const ipKey = `ip:${ip}`
    let q = this.#queues.get(ipKey)
    if (q === undefined) {
      q = { tail: Promise.resolve(), waiting: 0 }
      this.#queues.set(ipKey, q)
    }
    if (q.waiting >= this.#o.maxQueued || this.#pending >= this.#o.maxPending) {
      if (q.waiting === 0) this.#queues.delete(ipKey)
      const failures = this.failures(userKey)
      const nextDelayMs = this.delayFor(Math.max(failures, this.failures(ipKey)))
      // the address's queue drains no faster than one attempt per delay
      const retryAfterMs = Math.max(1000, q.waiting >= this.#o.maxQueued ? nextDelayMs : 0)
      return { value: undefined, waitedMs: 0, failures, nextDelayMs, refused: true, retryAfterMs }
    }
    const queue = q
    queue.waiting++
    this.#pending++
    const run = queue.tail.then(async () => {
      const waitedMs = this.delayFor(Math.max(this.failures(userKey), this.failures(ipKey)))
      if (waitedMs > 0) await this.#o.sleep(waitedMs)
      let value: T | undefined
      await this.#acquireCheck()
      try {
        value = await check()
      } catch (err) {
        this.#fail(userKey)
        this.#fail(ipKey)
        throw err
      } finally {
        this.#releaseCheck()
      }
      if (value === undefined) {
        this.#fail(userKey)
        this.#fail(ipKey)
      } else {
        this.#counters.delete(userKey)
        this.#counters.delete(ipKey)
      }
      const failures = this.failures(userKey)
      const next = this.delayFor(Math.max(failures, this.failures(ipKey)))
      return { value, waitedMs, failures, nextDelayMs: next, refused: false, retryAfterMs: 0 }
    })
    queue.tail = run.catch(() => {})
    try {
      return await run
    } finally {
      queue.waiting--
      this.#pending--
      if (queue.waiting === 0 && this.#queues.get(ipKey) === queue) this.#queues.delete(ipKey)
    }
  }

  /** Waits for one of the `maxChecks` password checks to be free, and takes it. */
  #acquireCheck(): Promise<void> {
    if (this.#checking < this.#o.maxChecks) {
      this.#checking++
      return Promise.resolve()
    }
    return new Promise((resolve) => this.#checkWaiters.push(resolve))
  }

  /** Hands the check on to the next waiting attempt, or frees it. */
  #releaseCheck(): void {
    const next = this.#checkWaiters.shift()
    if (next) next()
    else this.#checking--
  }

  /** Attempts waiting or running, all addresses together (for tests of the bound). */
  get pending(): number {
    return this.#pending
  }

  /** How many counters are kept (for tests of the memory bound). */
  get size(): number {
    return this.#counters.size
  }

  #fail(key: string): void {
    const failures = this.failures(key) + 1
    this.#counters.delete(key) // re-inserted last: the first key is the oldest
    while (this.#counters.size >= this.#o.maxEntries) {
      this.#counters.delete(this.#counters.keys().next().value as string)
    }
    this.#counters.set(key, { failures, lastAt: this.#o.now() })
  }
}
