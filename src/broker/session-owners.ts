/**
 * Who owns each persistent session (clean: false) under the broker's authentication: client id → user, counted per
 * user. One entry per session the broker keeps, removed when that session ends.
 * @module
 */

/** Client id → the user of its persistent session. */
export class SessionOwners {
  readonly #owner = new Map<string, string>()
  readonly #count = new Map<string, number>()

  /** The user of the persistent session under `clientId`, if any. */
  owner(clientId: string): string | undefined {
    return this.#owner.get(clientId)
  }

  /** Sessions with an owner, all users together. */
  get size(): number {
    return this.#owner.size
  }

  /** Sessions `user` owns. */
  countOf(user: string): number {
    return this.#count.get(user) ?? 0
  }

  /** `user` owns the session under `clientId` from now on (again: nothing changes). */
  claim(clientId: string, user: string): void {
    const previous = this.#owner.get(clientId)
    if (previous === user) return
    if (previous !== undefined) this.end(clientId)
    this.#owner.set(clientId, user)
    this.#count.set(user, this.countOf(user) + 1)
  }

  /** The session under `clientId` ended: the id is free. */
  end(clientId: string): void {
    const user = this.#owner.get(clientId)
    if (user === undefined) return
    this.#owner.delete(clientId)
    const n = this.countOf(user) - 1
    if (n > 0) this.#count.set(user, n)
    else this.#count.delete(user)
  }
}
