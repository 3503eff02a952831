import type { FastifyReply, FastifyRequest } from 'fastify'
import { credentialOf, type Principal } from '../auth.ts'
import { sendError } from '../http-error.ts'
import { addressKey } from './address-key.ts'
import { type BucketLimit, BucketMap } from './bucket-map.ts'

/** Options of {@link RateLimiter}; a rate of 0 turns that limit off. */
export interface RateLimitOptions {
  /** Requests per second per read/readwrite token (bucket refill). */
  perSecond: number
  /** Requests a token may make at once (bucket size). */
  burst: number
  /** Failed authentication attempts per second per client address. */
  anonPerSecond: number
  /** Failed authentication attempts a client address may make at once. */
  anonBurst: number
  /** Monotonic clock in ms, for tests. @default performance.now */
  now?: () => number
  /** Most buckets kept per kind (tokens, addresses). @default 10000 */
  maxKeys?: number
}

/**
 * Per-token and per-address token buckets for the web service ([HA-12]), applied in `onRequest` right around
 * authentication, so a limited request is never parsed and never reaches a bundle:
 *
 * - every request authenticated with a `read` or `readwrite` token takes one from that token's bucket; admin
 *   credentials are not limited (an admin can mint any number of tokens anyway);
 * - every failed authentication attempt (a credential that is unknown, revoked, expired, malformed) takes one from
 *   the client address's bucket (IPv6 by /64, loopback exempt: see {@link addressKey}); while that bucket is empty, requests from the address that carry a credential are
 *   refused before the credential is looked at, so guessing tokens is slowed down.
 *
 * Answers 429 `GW_ERR_RATE_LIMITED` with `Retry-After` (whole seconds ≥ 1). Allowed token requests carry
 * `RateLimit-Limit` (the burst) and `RateLimit-Remaining`.
 */
export class RateLimiter {
  readonly #tokens: BucketMap | undefined
  readonly #addresses: BucketMap | undefined

  constructor(options: RateLimitOptions) {
    const o = { ...(options.now ? { now: options.now } : {}), maxKeys: options.maxKeys ?? 10_000 }
    if (options.perSecond > 0) {
      this.#tokens = new BucketMap({ perSecond: options.perSecond, burst: Math.max(1, options.burst) }, o)
    }
    if (options.anonPerSecond > 0) {
      this.#addresses = new BucketMap(
        { perSecond: options.anonPerSecond, burst: Math.max(1, options.anonBurst) },
        o,
      )
    }
  }

  /** The limit a token of `scope` has, or null when it is not limited. */
  limitOf(scope: Principal['scope']): BucketLimit | null {
    return this.#tokens && scope !== 'admin' ? { ...this.#tokens.limit } : null
  }

  /** Buckets held (tokens + addresses), for tests of the memory bound. */
  get size(): number {
    return (this.#tokens?.size ?? 0) + (this.#addresses?.size ?? 0)
  }

  /**
   * Before authentication: refuses (429, answered) a request carrying a credential from an address that used up its
   * failed attempts. Returns true when it answered. `allowQuery`: the route takes `?mx-api-token=` too.
   */
  refuseAddress(request: FastifyRequest, reply: FastifyReply, allowQuery = false): boolean {
    if (!this.#addresses) return false
    const key = addressKey(request.ip)
    if (key === undefined) return false
    const wait = this.#addresses.emptyFor(key)
    if (wait === 0 || !credentialOf(request, allowQuery)) return false
    limited(reply, `from ${key}`, wait)
    return true
  }

  /** After a refused authentication: charges a presented credential to the client address. */
  failed(request: FastifyRequest, allowQuery = false): void {
    const key = addressKey(request.ip)
    if (this.#addresses && key !== undefined && credentialOf(request, allowQuery)) this.#addresses.take(key)
  }

  /** After authentication: takes one from the token's bucket; answers 429 and returns false when it is empty. */
  admit(principal: Principal, reply: FastifyReply): boolean {
    if (!this.#tokens || principal.scope === 'admin') return true
    const t = this.#tokens.take(principal.tokenId)
    void reply.header('ratelimit-limit', this.#tokens.limit.burst).header('ratelimit-remaining', t.remaining)
    if (t.ok) return true
    limited(reply, `for token ${principal.tokenId}`, t.retryAfterSec)
    return false
  }
}

function limited(reply: FastifyReply, who: string, retryAfterSec: number): void {
  void sendError(reply, 'GW_ERR_RATE_LIMITED', [who, retryAfterSec], { 'retry-after': retryAfterSec })
}
