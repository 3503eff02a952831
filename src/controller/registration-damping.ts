import type { Clock } from './clock.ts'

/**
 * [WP-41] Rejection damping (§8.2): a rejected POST reply for a name goes out no sooner than the interval after the
 * previous one, one reply per name per interval.
 */
export class RejectionDamper {
  readonly #clock: Clock
  readonly #intervalMs: number
  readonly #ceilingMs: number
  readonly #last = new Map<string, number>()

  /** `ceilingMs`: a backlog that would outlast it (the built-in ttl) gets no timer at all. */
  constructor(clock: Clock, intervalMs: number, ceilingMs: number) {
    this.#clock = clock
    this.#intervalMs = intervalMs
    this.#ceilingMs = ceilingMs
  }

  /**
   * How long to hold a rejected POST's reply for `name`. A backlog that would outlast the built-in ttl gets no timer
   * at all (infinity): its session ends with the ttl, so a flood of rejected POSTs never stacks timers without bound.
   */
  delay(name: string): number {
    const now = this.#clock.now()
    const last = this.#last.get(name)
    const at = last === undefined ? now : Math.max(now, last + this.#intervalMs)
    if (at - now >= this.#ceilingMs) return Number.POSITIVE_INFINITY
    this.#last.set(name, at)
    if (this.#last.size > 256) {
      for (const [k, v] of this.#last) if (v + this.#intervalMs < now) this.#last.delete(k)
    }
    return at - now
  }
}
