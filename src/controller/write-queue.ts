import type { Clock } from './clock.ts'
import type { Component } from './component.ts'
import type { LockSet } from './locks.ts'
import type { ControllerObserver } from './observer.ts'
import type { Pending } from './session.ts'

/** How routing a request ended: a session started, an answer was delivered, or it waits in the queue. */
export type RouteResult = 'started' | 'answered' | 'queued'

/** What the queue needs from the controller. */
export interface QueueHooks {
  /** Routes a queued request again; `blockers`: the lock sets of earlier queued writes. */
  route(p: Pending, blockers: readonly LockSet[]): RouteResult
  /** Answers 423 [WP-52]; `views` undefined: the views matching the resource now. */
  refuse(p: Pending, views: readonly Component[] | undefined): void
  closed(): boolean
}

const NO_LOCKS: readonly LockSet[] = []
const DEFAULT_QUEUE_WAIT_MS = 10_000

/**
 * The write queue (§8.6, default mode): requests meeting a lock wait here in one FIFO, each at most its own ttl,
 * then 423. Draining scans in arrival order; no request overtakes an earlier queued write it shares anything with.
 */
export class WriteQueue {
  readonly #clock: Clock
  readonly #observer: ControllerObserver
  readonly #limit: number
  readonly #hooks: QueueHooks
  readonly #queue: Pending[] = []
  readonly #queued = new Set<number>()
  #draining = false
  #drainAgain = false

  constructor(clock: Clock, observer: ControllerObserver, limit: number, hooks: QueueHooks) {
    this.#clock = clock
    this.#observer = observer
    this.#limit = limit
    this.#hooks = hooks
  }

  get length(): number {
    return this.#queue.length
  }

  /** Whether request `id` waits here. */
  has(id: number): boolean {
    return this.#queued.has(id)
  }

  /** The lock sets of the queued writes, in arrival order: a new request may not overtake them. */
  writes(): readonly LockSet[] {
    if (this.#queue.length === 0) return NO_LOCKS
    const out: LockSet[] = []
    for (const q of this.#queue) if (q.write && q.lockSet) out.push(q.lockSet)
    return out
  }

  /** Queues `p`, or refuses it 423 at once when the queue is full. */
  enqueue(p: Pending, step1: readonly Component[], views: () => Component[]): RouteResult {
    if (this.#queue.length >= this.#limit) {
      this.#hooks.refuse(p, views())
      return 'answered'
    }
    // [WP-52] the wait is bounded by the request's own ttl: the smallest step-1 ttl, or 10 s.
    let waitMs = DEFAULT_QUEUE_WAIT_MS
    if (step1.length > 0) waitMs = Math.max(0, Math.min(...step1.map((c) => c.ttlSec)) * 1000)
    p.queueTimer = this.#clock.setTimeout(() => {
      if (!this.#unqueue(p)) return
      this.#hooks.refuse(p, undefined)
      this.drain()
    }, waitMs)
    p.queuedAt = this.#clock.now()
    this.#queue.push(p)
    this.#queued.add(p.id)
    return 'queued'
  }

  #unqueue(p: Pending): boolean {
    const i = this.#queue.indexOf(p)
    if (i === -1) return false
    this.#queue.splice(i, 1)
    this.#queued.delete(p.id)
    this.#clock.clearTimeout(p.queueTimer)
    if (!this.#hooks.closed()) this.#observer.dequeued?.(this.#clock.now() - (p.queuedAt ?? 0))
    return true
  }

  /** Scans the queue in arrival order; no request overtakes an earlier queued write it shares anything with. */
  drain(): void {
    if (this.#draining) {
      this.#drainAgain = true
      return
    }
    this.#draining = true
    try {
      do {
        this.#drainAgain = false
        const blockers: LockSet[] = []
        for (const p of [...this.#queue]) {
          if (!this.#queued.has(p.id)) continue
          const result = this.#hooks.route(p, blockers)
          if (result === 'queued') {
            if (p.write && p.lockSet) blockers.push(p.lockSet)
          } else {
            this.#unqueue(p)
          }
        }
      } while (this.#drainAgain && !this.#hooks.closed())
    } finally {
      this.#draining = false
    }
  }

  /** Empties the queue and stops its timers; returns what was waiting. */
  close(): Pending[] {
    const waiting = this.#queue.splice(0)
    for (const p of waiting) this.#clock.clearTimeout(p.queueTimer)
    this.#queued.clear()
    return waiting
  }
}
