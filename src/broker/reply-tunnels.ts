/**
 * Reply-tunnel ownership under the broker's authentication (docs/security.md): which user holds which reply tunnel,
 * through which of its clients. Knows nothing of aedes: a client is any object, and whether it went away is asked
 * of `isClosed`.
 * @module
 */

/**
 * Whether a client of `user` may name `topic` as a request's reply tunnel, given the user that holds it
 * (`holder`): no other user may, or the answer would be injected into that user's tunnel.
 */
export function mayReplyTo(holder: string | undefined, user: string | undefined): boolean {
  return holder === undefined || holder === user
}

/**
 * Reply tunnels: topic → the user that holds it and its clients holding it. An entry lives only while one of them
 * is subscribed, so the map is bounded by the live subscriptions the broker keeps anyway.
 */
export class ReplyTunnels<C extends object> {
  readonly #tunnels = new Map<string, { user: string; holders: Set<C> }>()
  /** The reply tunnels each client holds, to release them when it goes. */
  readonly #heldBy = new Map<C, Set<string>>()
  readonly #isClosed: (client: C) => boolean

  /** `isClosed` says whether a client went away (its holds are then forgotten at the next look). */
  constructor(isClosed: (client: C) => boolean) {
    this.#isClosed = isClosed
  }

  /** The user holding `topic`, forgetting clients that went away without our hearing of it. */
  owner(topic: string): string | undefined {
    const entry = this.#tunnels.get(topic)
    if (!entry) return undefined
    for (const c of entry.holders) if (this.#isClosed(c)) this.release(c, topic)
    return this.#tunnels.get(topic)?.user
  }

  /** `client` of `user` subscribed `topic` (the subscribe rule allowed it as that user's reply tunnel). */
  hold(client: C, user: string, topic: string): void {
    const entry = this.#tunnels.get(topic) ?? { user, holders: new Set<C>() }
    this.#tunnels.set(topic, entry)
    entry.holders.add(client)
    const topics = this.#heldBy.get(client) ?? new Set<string>()
    this.#heldBy.set(client, topics)
    topics.add(topic)
  }

  /** `client` unsubscribed `topic`: the tunnel is free once no client holds it. */
  release(client: C, topic: string): void {
    const entry = this.#tunnels.get(topic)
    if (entry) {
      entry.holders.delete(client)
      if (entry.holders.size === 0) this.#tunnels.delete(topic)
    }
    const topics = this.#heldBy.get(client)
    topics?.delete(topic)
    if (topics?.size === 0) this.#heldBy.delete(client)
  }

  /** `client` went away: every tunnel it held is released. */
  releaseAll(client: C): void {
    for (const t of [...(this.#heldBy.get(client) ?? [])]) this.release(client, t)
  }

  /** Tunnels held now (for tests). */
  get size(): number {
    return this.#tunnels.size
  }
}
