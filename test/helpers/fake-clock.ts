import type { Clock } from '../../src/controller/index.ts'

interface Timer {
  at: number
  seq: number
  fn: () => void
}

/** A manual clock: time moves only with advance(), and due timers run in order. */
export class FakeClock implements Clock {
  #now = 1_700_000_000_000
  #seq = 0
  #timers = new Set<Timer>()

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const t = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn }
    this.#timers.add(t)
    return t
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as Timer)
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let next: Timer | undefined
      for (const t of this.#timers) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t
      }
      if (!next) break
      this.#timers.delete(next)
      this.#now = next.at
      next.fn()
    }
    this.#now = end
  }

  get pending(): number {
    return this.#timers.size
  }
}
