/**
 * Bounds on registrations (docs/config.md `controller.*`, wire-protocol.md §8.9): components per client and in
 * total, patterns per component and in total, and a token bucket of POSTs per client. Pure: time comes from `now`.
 * @module
 */
import { WIRE_TEXT } from '../protocol/index.ts'
import type { BuiltinAnswer } from './component.ts'

/** The bounds; `Infinity` turns one off. */
export interface RegistrationLimits {
  /** Components one client (MQTT client id) may hold at once. */
  maxComponentsPerClient: number
  /** Components in the registry at once (built-ins not counted). */
  maxComponents: number
  /** Patterns one registration may list. */
  maxResourcesPerComponent: number
  /** Patterns of every component together (each registration's count; shared patterns count for each). */
  maxResources: number
  /** Registration POSTs per second per client, on average (the bucket's refill). */
  registrationsPerSec: number
  /** Registration POSTs a client may send at once (the bucket's size). */
  registrationBurst: number
}

/** No bounds: the controller core's default (the gateway passes its configuration). */
export const UNLIMITED: RegistrationLimits = {
  maxComponentsPerClient: Number.POSITIVE_INFINITY,
  maxComponents: Number.POSITIVE_INFINITY,
  maxResourcesPerComponent: Number.POSITIVE_INFINITY,
  maxResources: Number.POSITIVE_INFINITY,
  registrationsPerSec: Number.POSITIVE_INFINITY,
  registrationBurst: Number.POSITIVE_INFINITY,
}

/** Buckets kept at most; full ones are forgotten first (a full bucket is the same as none). */
const MAX_BUCKETS = 4096

interface Bucket {
  tokens: number
  at: number
}

/**
 * Keeps the count of components and patterns per client and the POST buckets. The client key is the publishing
 * MQTT client id (embedded broker); with an external broker the broker does not tell, so it is the registration's
 * own `data.clientId`, else its reply tunnel: self-declared, so there only the totals are firm.
 */
export class RegistrationBudget {
  readonly #limits: RegistrationLimits
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()
  /** Component name → its client key and pattern count. */
  readonly #holders = new Map<string, { key: string; patterns: number }>()
  readonly #perKey = new Map<string, number>()
  #patterns = 0

  constructor(limits: RegistrationLimits, now: () => number) {
    this.#limits = limits
    this.#now = now
  }

  /** Takes one POST from `key`'s bucket; a 429 answer when it is empty. */
  takePost(key: string): BuiltinAnswer | undefined {
    const { registrationsPerSec: rate, registrationBurst: burst } = this.#limits
    if (rate === Number.POSITIVE_INFINITY) return undefined
    const now = this.#now()
    const b = this.#buckets.get(key) ?? { tokens: burst, at: now }
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate)
    b.at = now
    if (b.tokens < 1) {
      this.#buckets.set(key, b)
      const retrySec = Math.max(1, Math.ceil((1 - b.tokens) / rate))
      return tooMany(
        `too many registrations from this client: at most ${rate} per second (burst ${burst}); retry in ${retrySec} s`,
      )
    }
    b.tokens -= 1
    this.#buckets.delete(key)
    this.#buckets.set(key, b) // most recent last
    if (this.#buckets.size > MAX_BUCKETS) this.#prune(now)
    return undefined
  }

  /** Whether a component of `patterns` patterns from `key` fits; the refusal otherwise. */
  refusal(key: string, patterns: number): BuiltinAnswer | undefined {
    const l = this.#limits
    if (patterns > l.maxResourcesPerComponent) {
      return {
        code: 400,
        data: {
          message: WIRE_TEXT.wrongRegister,
          log: `'resources' lists ${patterns} entries, at most ${l.maxResourcesPerComponent} are accepted`,
        },
      }
    }
    if ((this.#perKey.get(key) ?? 0) >= l.maxComponentsPerClient) {
      return tooMany(
        `too many components from this client: at most ${l.maxComponentsPerClient} at once; deregister one first`,
      )
    }
    if (this.#holders.size >= l.maxComponents) {
      return full(`the controller holds its maximum of ${l.maxComponents} components`)
    }
    if (this.#patterns + patterns > l.maxResources) {
      return full(`the controller holds its maximum of ${l.maxResources} resources`)
    }
    return undefined
  }

  /** Records a registered component. */
  added(name: string, key: string, patterns: number): void {
    this.#holders.set(name, { key, patterns })
    this.#perKey.set(key, (this.#perKey.get(key) ?? 0) + 1)
    this.#patterns += patterns
  }

  /** Forgets a deregistered component. */
  removed(name: string): void {
    const h = this.#holders.get(name)
    if (!h) return
    this.#holders.delete(name)
    this.#patterns -= h.patterns
    const n = (this.#perKey.get(h.key) ?? 1) - 1
    if (n <= 0) this.#perKey.delete(h.key)
    else this.#perKey.set(h.key, n)
  }

  /** Drops the buckets that are full again (oldest first), then the oldest ones, down to 3/4 of the bound. */
  #prune(now: number): void {
    const { registrationsPerSec: rate, registrationBurst: burst } = this.#limits
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * rate >= burst) this.#buckets.delete(key)
    }
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size <= (MAX_BUCKETS * 3) / 4) break
      this.#buckets.delete(key)
    }
  }
}

function tooMany(log: string): BuiltinAnswer {
  return { code: 429, data: { message: WIRE_TEXT.tooManyRegistrations, log } }
}

function full(log: string): BuiltinAnswer {
  return { code: 503, data: { message: WIRE_TEXT.registryFull, log } }
}
