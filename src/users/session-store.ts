/**
 * Console sessions ([HA-10]), in memory: a gateway restart logs every user out. The browser holds a random id in
 * an HttpOnly cookie; only its SHA-256 is kept here. Each session has its own CSRF token ([HA-3] item 3).
 * @module
 */

import { createHash, randomBytes } from 'node:crypto'

/** One logged-in browser. */
export interface Session {
  username: string
  /** Sent back by the console in `x-csrf-token` on every write. */
  csrfToken: string
  createdAt: number
  lastSeenAt: number
  mustChangePassword: boolean
  /** The user's `passwordChangedAt` at login: a later password change ends this session. */
  passwordChangedAt: string
}

/** What a session is checked against on every use: the user as the user store has it now. */
export type UserCheck = (
  username: string,
) => { mustChangePassword: boolean; passwordChangedAt: string } | undefined

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** A session ends after this long without a request. */
  idleMs: number
  /** A session ends this long after its login. */
  maxMs: number
  /** The current state of a user; a session whose user is gone or whose password changed since ends. */
  check: UserCheck
  /** At most this many sessions; the least recently used one is dropped to make room. @default 1000 */
  maxSessions?: number
  /** @default Date.now */
  now?: () => number
}

/** The in-memory session table. */
export class SessionStore {
  readonly #sessions = new Map<string, Session>()
  readonly #o: Required<SessionStoreOptions>

  constructor(options: SessionStoreOptions) {
    this.#o = { maxSessions: 1000, now: Date.now, ...options }
  }

  /** Opens a session; returns its id (for the cookie; not kept) and the session. */
  create(user: { username: string; mustChangePassword: boolean; passwordChangedAt: string }): {
    id: string
    session: Session
  } {
    this.#sweep()
    while (this.#sessions.size >= this.#o.maxSessions) {
      const oldest = this.#sessions.keys().next().value as string
      this.#sessions.delete(oldest)
    }
    const id = randomBytes(32).toString('base64url')
    const now = this.#o.now()
    const session: Session = {
      username: user.username,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      mustChangePassword: user.mustChangePassword,
      passwordChangedAt: user.passwordChangedAt,
    }
    this.#sessions.set(hashId(id), session)
    return { id, session }
  }

  /** The live session of cookie value `id` (its idle timer restarted), or `undefined`. */
  lookup(id: string): Session | undefined {
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) return undefined
    const key = hashId(id)
    const s = this.#sessions.get(key)
    if (s === undefined) return undefined
    const now = this.#o.now()
    const user = this.#current(s, now)
    if (user === undefined) {
      this.#sessions.delete(key)
      return undefined
    }
    s.lastSeenAt = now
    s.mustChangePassword = user.mustChangePassword
    // least recently used last: the first key is the one to drop when full
    this.#sessions.delete(key)
    this.#sessions.set(key, s)
    return s
  }

  /**
   * Whether cookie value `id` is still a live session, without counting as activity: a long-lived event stream
   * checks this at each heartbeat and must not keep an idle session alive.
   */
  isLive(id: string): boolean {
    if (typeof id !== 'string' || id.length === 0 || id.length > 128) return false
    const s = this.#sessions.get(hashId(id))
    if (s === undefined) return false
    return this.#current(s, this.#o.now()) !== undefined
  }

  /** The session's user when the session still holds at `now` (same password, neither idle nor too old). */
  #current(s: Session, now: number) {
    const user = this.#o.check(s.username)
    if (
      user === undefined ||
      user.passwordChangedAt !== s.passwordChangedAt ||
      now - s.lastSeenAt >= this.#o.idleMs ||
      now - s.createdAt >= this.#o.maxMs
    )
      return undefined
    return user
  }

  /** Ends the session of cookie value `id`; whether there was one. */
  destroy(id: string): boolean {
    return typeof id === 'string' && this.#sessions.delete(hashId(id))
  }

  /**
   * After a password change made through session `id`: that session follows the new password, every other
   * session of the user ends.
   */
  passwordChanged(
    id: string,
    user: { username: string; mustChangePassword: boolean; passwordChangedAt: string },
  ) {
    const keep = hashId(id)
    for (const [key, s] of this.#sessions) {
      if (s.username !== user.username) continue
      if (key === keep) {
        s.passwordChangedAt = user.passwordChangedAt
        s.mustChangePassword = user.mustChangePassword
      } else this.#sessions.delete(key)
    }
  }

  /** How many sessions are open (expired ones not yet swept included). */
  get size(): number {
    return this.#sessions.size
  }

  #sweep(): void {
    const now = this.#o.now()
    for (const [key, s] of this.#sessions)
      if (now - s.lastSeenAt >= this.#o.idleMs || now - s.createdAt >= this.#o.maxMs)
        this.#sessions.delete(key)
  }
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url')
}
