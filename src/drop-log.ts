import type { Logger } from './logger.ts'

/** At most one warn line per reason this often. */
export const DROP_LOG_INTERVAL_MS = 10_000

/**
 * Counted, rate-limited logging of dropped hostile input: every drop is counted; a warn line goes out at the first
 * drop of a reason and then at most once per interval, carrying how many drops of that reason there were since the
 * previous line (`dropped`, including this one) and the fields of the latest. A flood of bad messages thus costs one
 * line per reason per 10 s, and nothing is dropped silently.
 */
export class DropLog {
  readonly #log: Logger
  readonly #now: () => number
  readonly #intervalMs: number
  readonly #reasons = new Map<string, { lastLineAt: number; unlogged: number }>()
  #total = 0

  constructor(log: Logger, options: { now?: () => number; intervalMs?: number } = {}) {
    this.#log = log
    this.#now = options.now ?? Date.now
    this.#intervalMs = options.intervalMs ?? DROP_LOG_INTERVAL_MS
  }

  /** Every drop counted so far. */
  get total(): number {
    return this.#total
  }

  /** Counts one drop of `reason` (a fixed text, the log message) and logs it when the interval allows. */
  drop(reason: string, fields: Record<string, unknown> = {}): void {
    this.#total++
    const now = this.#now()
    let r = this.#reasons.get(reason)
    if (!r) {
      r = { lastLineAt: Number.NEGATIVE_INFINITY, unlogged: 0 }
      this.#reasons.set(reason, r)
    }
    r.unlogged++
    if (now - r.lastLineAt < this.#intervalMs) return
    this.#log.warn({ ...fields, dropped: r.unlogged, intervalSec: this.#intervalMs / 1000 }, reason)
    r.lastLineAt = now
    r.unlogged = 0
  }
}
