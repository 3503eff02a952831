import { randomBytes } from 'node:crypto'

/** What an upload ticket allows: one upload to `POST /api/v1/files/upload`, on behalf of a caller. */
export interface UploadGrant {
  /** The token id of the caller the ticket was made for (never its secret). */
  tokenId: string | undefined
  expiresAt: number
}

/** Ticket secrets start with this, so they are never mistaken for API tokens. */
export const TICKET_PREFIX = 'bgup_'

/**
 * One-time upload tickets of the download helper (wire-protocol.md §7): the gateway hands a bundle `{url, headers}`
 * where the headers carry a ticket instead of the caller's token, so the token never travels on MQTT ([WP-60]).
 * A ticket is good for one upload within its lifetime; at most `max` are outstanding (the oldest go first).
 */
export class UploadTickets {
  readonly #grants = new Map<string, UploadGrant>()
  readonly #ttlMs: number
  readonly #max: number
  readonly #now: () => number

  constructor(options: { ttlMs: number; max?: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs
    this.#max = options.max ?? 1000
    this.#now = options.now ?? Date.now
  }

  /** A new ticket secret. */
  issue(tokenId: string | undefined): string {
    const secret = `${TICKET_PREFIX}${randomBytes(32).toString('base64url')}`
    this.#prune()
    while (this.#grants.size >= this.#max) {
      const oldest = this.#grants.keys().next().value as string
      this.#grants.delete(oldest)
    }
    this.#grants.set(secret, { tokenId, expiresAt: this.#now() + this.#ttlMs })
    return secret
  }

  /** Uses a ticket up: its grant, or undefined when it is unknown, used or expired. */
  redeem(secret: string): UploadGrant | undefined {
    const grant = this.#grants.get(secret)
    if (!grant) return undefined
    this.#grants.delete(secret)
    return grant.expiresAt > this.#now() ? grant : undefined
  }

  #prune(): void {
    const now = this.#now()
    for (const [k, g] of this.#grants) if (g.expiresAt <= now) this.#grants.delete(k)
  }
}
