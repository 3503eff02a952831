/**
 * Slows down password guessing ([HA-10]: "after a growing delay") without letting anyone's guesses lock the real
 * user out or hold them up. Failures are counted per username and per client address; an attempt waits
 * `delayFor(n)`, which doubles with every failure up to a cap, where `n` is:
 * - 0 for an attempt from a **clean** address (no failure counted for it, and no earlier attempt of it waiting):
 *   other addresses' failures, on this username or any other, never delay it;
 * - for an address with failures of its own, the larger of its own count and the username's: a guesser spreading
 *   guesses for one username over several addresses gets the username's delay on each after its first failure.
 * Attempts from one address run one at a time, whatever their usernames, so parallel connections neither get around
 * the delay nor make the process hash many passwords at once; an address's queue never holds up another address's
 * attempts. Password checks (scrypt) run at most `maxChecks` at once in the whole process: attempts from clean
 * addresses go first in that line, and attempts from addresses with failures hold at most `maxChecks - 1` of them,
 * so a clean attempt waits for no guess but (at most) one check already running, about 0.1 s. At most `maxPending`
 * attempts from addresses with failures wait in all, and `maxClean` from clean ones: an address holds at most one
 * clean attempt (its next ones queue behind it), so filling the second bound takes `maxClean` fresh addresses.
 * An attempt beyond these bounds is refused unchecked, with the time to retry after ([HA-12]: 429). Memory is bounded: at most `maxEntries` counters (the oldest is forgotten first), each forgotten
 * after `forgetMs` without a failure, and the queues hold at most `maxPending + maxClean` attempts.
 * The real user and a guesser behind the same address (one NAT) share the address's queue and delay, unless the
 * user's browser logged in before: such a `trusted` attempt ({@link TrustedDevices}) counts as clean and skips the
 * address's queue.
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
  /** At most this many attempts from clean addresses waiting or running; more are refused unchecked. @default 32 */
  maxClean?: number
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
  /** It came from a clean address: no failure of its own, no earlier attempt of it waiting. */
  clean: boolean
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

/** Per-username and per-address failure counters with a growing delay, fair to clean addresses. */
export class LoginThrottle {
  readonly #o: Required<LoginThrottleOptions>
  readonly #counters = new Map<string, Counter>()
  /** One queue per client address. */
  readonly #queues = new Map<string, { tail: Promise<unknown>; waiting: number }>()
  /** Attempts waiting or running: from addresses with failures, from clean ones. */
  #pending = 0
  #cleanPending = 0
  /** Password checks running (all, and those of attempts from addresses with failures), and the waiting lines. */
  #checking = 0
  #dirtyChecking = 0
  readonly #cleanWaiters: Array<() => void> = []
  readonly #dirtyWaiters: Array<() => void> = []

  constructor(options: LoginThrottleOptions = {}) {
    this.#o = {
      baseDelayMs: 250,
      maxDelayMs: 15_000,
      forgetMs: 900_000,
      maxEntries: 10_000,
      maxQueued: 8,
      maxPending: 64,
      maxClean: 32,
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

  /** The failures that decide the wait of an attempt for `userKey` from `ipKey` (see the module comment). */
  #count(userKey: string, ipKey: string): number {
    const ip = this.failures(ipKey)
    return ip === 0 ? 0 : Math.max(ip, this.failures(userKey))
  }

  /**
   * Runs `check` (which answers a value on success, `undefined` on failure) for `username` from `ip`: after the
   * earlier attempts from the same address, after the delay its failures earned (see the module comment), and when
   * a password check is free. A `trusted` attempt (a device that logged in before, {@link TrustedDevices}) counts as
   * clean and skips its address's queue and delay.
   */
  async attempt<T>(
    username: string,
    ip: string,
    check: () => Promise<T | undefined>,
    trusted = false,
  ): Promise<AttemptResult<T>> {
    const userKey = `user:${username}`
    const ipKey = `ip:${ip}`
    let q = trusted ? undefined : this.#queues.get(ipKey)
    const clean = trusted || (q === undefined && this.failures(ipKey) === 0)
    const full = clean ? this.#cleanPending >= this.#o.maxClean : this.#pending >= this.#o.maxPending
    if ((q?.waiting ?? 0) >= this.#o.maxQueued || full) {
      const failures = this.failures(userKey)
      const nextDelayMs = this.delayFor(this.#count(userKey, ipKey))
      // the address's queue drains no faster than one attempt per delay
      const retryAfterMs = Math.max(1000, (q?.waiting ?? 0) >= this.#o.maxQueued ? nextDelayMs : 0)
      return { value: undefined, waitedMs: 0, clean, failures, nextDelayMs, refused: true, retryAfterMs }
    }
    if (q === undefined && !trusted) {
      q = { tail: Promise.resolve(), waiting: 0 }
      this.#queues.set(ipKey, q)
    }
    const queue = q
    if (queue) queue.waiting++
    if (clean) this.#cleanPending++
    else this.#pending++
    const run = (queue?.tail ?? Promise.resolve()).then(async () => {
      const waitedMs = clean ? 0 : this.delayFor(this.#count(userKey, ipKey))
      if (waitedMs > 0) await this.#o.sleep(waitedMs)
      const dirty = !clean && this.failures(ipKey) > 0
      // a trusted device's success says nothing of the others behind its address: their count stays
      const value = await this.#checked(check, dirty, userKey, trusted ? undefined : ipKey)
      const failures = this.failures(userKey)
      const next = this.delayFor(this.#count(userKey, ipKey))
      return { value, waitedMs, clean, failures, nextDelayMs: next, refused: false, retryAfterMs: 0 }
    })
    if (queue) queue.tail = run.catch(() => {})
    try {
      return await run
    } finally {
      if (clean) this.#cleanPending--
      else this.#pending--
      if (queue) {
        queue.waiting--
        if (queue.waiting === 0 && this.#queues.get(ipKey) === queue) this.#queues.delete(ipKey)
      }
    }
  }

  /** Runs the password check when one is free; counts a failure, or clears both counters on success. */
  async #checked<T>(
    check: () => Promise<T | undefined>,
    dirty: boolean,
    userKey: string,
    ipKey: string | undefined,
  ): Promise<T | undefined> {
    let value: T | undefined
    await this.#acquireCheck(dirty)
    try {
      value = await check()
    } catch (err) {
      this.#fail(userKey)
      if (ipKey !== undefined) this.#fail(ipKey)
      throw err
    } finally {
      this.#releaseCheck(dirty)
    }
    if (value === undefined) {
      this.#fail(userKey)
      if (ipKey !== undefined) this.#fail(ipKey)
    } else {
      this.#counters.delete(userKey)
      if (ipKey !== undefined) this.#counters.delete(ipKey)
    }
    return value
  }

  /**
   * Waits for a password check to be free, and takes it: clean attempts first; attempts from addresses with
   * failures hold at most `maxChecks - 1` (one when `maxChecks` is 1) of them.
   */
  #acquireCheck(dirty: boolean): Promise<void> {
    if (this.#mayStart(dirty)) {
      this.#take(dirty)
      return Promise.resolve()
    }
    return new Promise((resolve) => (dirty ? this.#dirtyWaiters : this.#cleanWaiters).push(resolve))
  }

  #mayStart(dirty: boolean): boolean {
    if (this.#checking >= this.#o.maxChecks) return false
    return !dirty || this.#dirtyChecking < Math.max(1, this.#o.maxChecks - 1)
  }

  #take(dirty: boolean): void {
    this.#checking++
    if (dirty) this.#dirtyChecking++
  }

  /** Frees a check and hands it to the next waiting attempt that may start, clean ones first. */
  #releaseCheck(dirty: boolean): void {
    this.#checking--
    if (dirty) this.#dirtyChecking--
    const clean = this.#cleanWaiters[0]
    if (clean !== undefined && this.#mayStart(false)) {
      this.#cleanWaiters.shift()
      this.#take(false)
      clean()
      return
    }
    const next = this.#dirtyWaiters[0]
    if (next !== undefined && this.#mayStart(true)) {
      this.#dirtyWaiters.shift()
      this.#take(true)
      next()
    }
  }

  /** Attempts waiting or running, all addresses together (for tests of the bound). */
  get pending(): number {
    return this.#pending + this.#cleanPending
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
