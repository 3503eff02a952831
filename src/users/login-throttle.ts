/**
 * Slows down password guessing ([HA-10]: "after a growing delay"). Failures are counted per username and per
 * client address; an attempt first waits `delayFor(max(count))`, which doubles with every failure up to a cap, and
 * attempts on the same username run one at a time, so parallel connections do not get around the delay. Memory is
 * bounded: at most `maxEntries` counters (the oldest is forgotten first), each forgotten after `forgetMs` without
 * a failure.
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
  /** At most this many attempts waiting on one username; more fail at once, unchecked. @default 8 */
  maxQueued?: number
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
  /** Too many attempts were already waiting on this username: this one was not checked. */
  refused: boolean
}

interface Counter {
  failures: number
  lastAt: number
}

/** Per-username and per-address failure counters with a growing delay. */
export class LoginThrottle {
  readonly #o: Required<LoginThrottleOptions>
  readonly #counters = new Map<string, Counter>()
  readonly #queues = new Map<string, { tail: Promise<unknown>; waiting: number }>()

  constructor(options: LoginThrottleOptions = {}) {
    this.#o = {
      baseDelayMs: 250,
      maxDelayMs: 15_000,
      forgetMs: 900_000,
      maxEntries: 10_000,
      maxQueued: 8,
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
   * earlier attempts on the same username, and after the delay their failures earned.
   */
  async attempt<T>(
    username: string,
    ip: string,
    check: () => Promise<T | undefined>,
  ): Promise<AttemptResult<T>> {
    const userKey = `user:${username}`
    const ipKey = `ip:${ip}`
    let q = this.#queues.get(userKey)
    if (q === undefined) {
      q = { tail: Promise.resolve(), waiting: 0 }
      this.#queues.set(userKey, q)
    }
    if (q.waiting >= this.#o.maxQueued) {
      const failures = this.failures(userKey)
      return { value: undefined, waitedMs: 0, failures, nextDelayMs: this.delayFor(failures), refused: true }
    }
    const queue = q
    queue.waiting++
    const run = queue.tail.then(async () => {
      const waitedMs = this.delayFor(Math.max(this.failures(userKey), this.failures(ipKey)))
      if (waitedMs > 0) await this.#o.sleep(waitedMs)
      let value: T | undefined
      try {
        value = await check()
      } catch (err) {
        this.#fail(userKey)
        this.#fail(ipKey)
        throw err
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
      return { value, waitedMs, failures, nextDelayMs: next, refused: false }
    })
    queue.tail = run.catch(() => {})
    try {
      return await run
    } finally {
      queue.waiting--
      if (queue.waiting === 0 && this.#queues.get(userKey) === queue) this.#queues.delete(userKey)
    }
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
