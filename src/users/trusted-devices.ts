import { randomBytes, timingSafeEqual } from 'node:crypto'

/** Options of {@link TrustedDevices}. */
export interface TrustedDevicesOptions {
  /** A device is trusted this long after its last successful login. @default 30 days */
  ttlMs?: number
  /** At most this many devices per user (the oldest is forgotten first). @default 16 */
  perUser?: number
  /** At most this many users with devices. @default 1000 */
  maxUsers?: number
  /** @default Date.now */
  now?: () => number
}

/**
 * Devices (browsers) that logged in successfully before, known by a random id in an HttpOnly cookie (OWASP's
 * "device cookie" against lockout). A login attempt carrying a trusted id for its username skips its address's
 * queue and delay, so a guesser behind the same address (one NAT) cannot hold the real user up. A failed attempt
 * with an id forgets it. Kept in memory: a restart forgets every device (the user is then like anyone else).
 */
export class TrustedDevices {
  readonly #o: Required<TrustedDevicesOptions>
  readonly #byUser = new Map<string, Map<string, number>>()

  constructor(options: TrustedDevicesOptions = {}) {
    this.#o = { ttlMs: 30 * 86_400_000, perUser: 16, maxUsers: 1000, now: Date.now, ...options }
  }

  /** How long a device stays trusted, for the cookie's Max-Age. */
  get ttlMs(): number {
    return this.#o.ttlMs
  }

  /** Trusts a new device of `username` (or renews `id`) and answers its id. */
  issue(username: string, id?: string): string {
    let devices = this.#byUser.get(username)
    if (devices === undefined) {
      while (this.#byUser.size >= this.#o.maxUsers)
        this.#byUser.delete(this.#byUser.keys().next().value as string)
      devices = new Map()
      this.#byUser.set(username, devices)
    }
    const known = id !== undefined && this.trusts(username, id) ? id : randomBytes(18).toString('base64url')
    devices.delete(known) // re-inserted last: the first is the oldest
    while (devices.size >= this.#o.perUser) devices.delete(devices.keys().next().value as string)
    devices.set(known, this.#o.now() + this.#o.ttlMs)
    return known
  }

  /** Whether `id` is a trusted device of `username` (constant-time per comparison). */
  trusts(username: string, id: string): boolean {
    const devices = this.#byUser.get(username)
    if (devices === undefined) return false
    const now = this.#o.now()
    const wanted = Buffer.from(id)
    for (const [known, expires] of devices) {
      const k = Buffer.from(known)
      if (k.length === wanted.length && timingSafeEqual(k, wanted)) return expires > now
    }
    return false
  }

  /** Forgets one device of `username`, or all of them. */
  forget(username: string, id?: string): void {
    if (id === undefined) this.#byUser.delete(username)
    else this.#byUser.get(username)?.delete(id)
  }
}
