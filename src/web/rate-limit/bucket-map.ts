/** What one key may do: `perSecond` requests on average, `burst` at once. */
export interface BucketLimit {
  /** Refill rate (requests per second); > 0. */
  perSecond: number
  /** Bucket size: requests allowed at once; ≥ 1. */
  burst: number
}

/** The outcome of {@link BucketMap.take}. */
export interface Take {
  ok: boolean
  /** Whole requests left in the bucket after this one. */
  remaining: number
  /** When refused: whole seconds (≥ 1) until a request would pass. 0 when allowed. */
  retryAfterSec: number
}

interface Bucket {
  tokens: number
  /** ms timestamp of the last refill. */
  at: number
}

/**
 * Token buckets by key (a token id, a client address), memory-bounded: a bucket that has refilled completely is the
 * same as no bucket, so such idle buckets are swept away; and no more than `maxKeys` are kept (the oldest go first:
 * forgetting a bucket only ever makes the limiter more lenient, never stricter).
 */
export class BucketMap {
  readonly #buckets = new Map<string, Bucket>()
  readonly #limit: BucketLimit
  readonly #now: () => number
  readonly #maxKeys: number
  #nextSweep = 0

  /**
   * @param options.now - a monotonic clock in ms (tests pass a fake one). @default performance.now
   * @param options.maxKeys - most buckets kept at once. @default 10000
   */
  constructor(limit: BucketLimit, options: { now?: () => number; maxKeys?: number } = {}) {
    this.#limit = limit
    this.#now = options.now ?? (() => performance.now())
    this.#maxKeys = options.maxKeys ?? 10_000
  }

  /** Number of buckets currently held. */
  get size(): number {
    return this.#buckets.size
  }

  /** The limit every bucket of this map has. */
  get limit(): BucketLimit {
    return this.#limit
  }

  /** Takes one request from `key`'s bucket. */
  take(key: string): Take {
    const limit = this.#limit
    const now = this.#now()
    const b = this.#refilled(key, now)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return { ok: true, remaining: Math.floor(b.tokens), retryAfterSec: 0 }
    }
    return { ok: false, remaining: 0, retryAfterSec: retryAfter(b.tokens, limit) }
  }

  /** Whether `key`'s bucket is empty (nothing is taken); the seconds to wait when it is, else 0. */
  emptyFor(key: string): number {
    const limit = this.#limit
    const b = this.#buckets.get(key)
    if (!b) return 0
    const tokens = Math.min(
      limit.burst,
      b.tokens + (Math.max(0, this.#now() - b.at) * limit.perSecond) / 1000,
    )
    return tokens >= 1 ? 0 : retryAfter(tokens, limit)
  }

  #refilled(key: string, now: number): Bucket {
    const limit = this.#limit
    let b = this.#buckets.get(key)
    if (b) {
      b.tokens = Math.min(limit.burst, b.tokens + (Math.max(0, now - b.at) * limit.perSecond) / 1000)
      b.at = now
      return b
    }
    if (now >= this.#nextSweep || this.#buckets.size >= this.#maxKeys) this.#sweep(now)
    b = { tokens: limit.burst, at: now }
    this.#buckets.set(key, b)
    return b
  }

  /**
   * Drops the buckets that are full again (at most once a second or once per refill time), then, when still at
   * `maxKeys`, the oldest tenth: a flood of new keys costs one pass per `maxKeys / 10` of them, not one per key.
   */
  #sweep(now: number): void {
    if (now >= this.#nextSweep) {
      const fullAfterMs = (this.#limit.burst / this.#limit.perSecond) * 1000
      for (const [key, b] of this.#buckets) {
        if (now - b.at >= fullAfterMs) this.#buckets.delete(key)
      }
      this.#nextSweep = now + Math.max(1000, fullAfterMs)
    }
    if (this.#buckets.size < this.#maxKeys) return
    const keep = Math.floor(this.#maxKeys * 0.9)
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= keep) break
      this.#buckets.delete(key)
    }
  }
}

function retryAfter(tokens: number, limit: BucketLimit): number {
  return Math.max(1, Math.ceil((1 - tokens) / limit.perSecond))
}
