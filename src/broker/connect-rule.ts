/**
 * The CONNECT rule of the broker's authentication (docs/security.md), as a pure decision: who the client is, what
 * the credential check said, and who holds its client id and its persistent session in, allow or deny (with the
 * CONNACK return code and a reason) out. The aedes adapter is broker-auth.ts.
 * @module
 */

/** Persistent sessions (clean: false) all users together may hold; beyond it new ones are refused (CONNACK 2). */
export const MAX_PERSISTENT_SESSIONS = 100_000
/** Persistent sessions one user may hold: one user cannot use up {@link MAX_PERSISTENT_SESSIONS} for all. */
export const MAX_PERSISTENT_SESSIONS_PER_USER = 1000

/** What the credential check answered for a CONNECT's user name and password, or `'failed'` when it threw. */
export type CredentialLookup =
  | { ok: true; credential: { id: string; bundle: string } }
  | { ok: false; reason: string }
  | 'failed'

/** Everything {@link connectDecision} decides on. */
export interface ConnectInput {
  clientId: string
  username: string | undefined
  /** Whether the CONNECT carried a password. */
  hasPassword: boolean
  /** Whether the CONNECT asks for a clean session (`false`: a persistent one). */
  clean: boolean
  /** The credential check; `undefined` when it was not asked ({@link credentialsGiven} was false). */
  lookup: CredentialLookup | undefined
  /** The user of the client connected under this client id now, if any. */
  clientIdUser: string | undefined
  /** The user of the persistent session kept under this client id, if any. */
  sessionOwner: string | undefined
  /** Persistent sessions that have an owner now, all users together. */
  persistentSessions: number
  /** Persistent sessions `user` holds now. */
  sessionsOf: (user: string) => number
}

/** The answer of {@link connectDecision}. */
export type ConnectDecision =
  | {
      allow: true
      user: string
      credentialId: string
      /** The client takes a persistent session: `user` owns its client id from now on. */
      claimSession: boolean
    }
  | {
      allow: false
      /** CONNACK 2 (identifier rejected), 4 (bad user name or password) or 5 (not authorized). */
      returnCode: 2 | 4 | 5
      reason: string
      /** The client id names another user's persistent session (counted apart). */
      sessionConflict?: true
    }

/** Limits of {@link connectDecision}; the defaults are the broker's. */
export interface SessionLimits {
  total: number
  perUser: number
}

const LIMITS: SessionLimits = { total: MAX_PERSISTENT_SESSIONS, perUser: MAX_PERSISTENT_SESSIONS_PER_USER }

/** Whether a CONNECT carries credentials worth checking: a non-empty user name and a password. */
export function credentialsGiven(username: string | undefined, hasPassword: boolean): boolean {
  return username !== undefined && username !== '' && hasPassword
}

/**
 * Decides a CONNECT: no credentials → CONNACK 5; a failed check → 5; wrong credentials → 4. A client id in use by
 * another user's connection → 2 (a CONNECT with a client id in use takes that connection over, MQTT 3.1.1 §3.1.4:
 * anyone who learnt a bundle's client id could knock it offline); a client id with another user's persistent
 * session → 2 (its queued messages are that user's); a new persistent session beyond the limits → 2.
 */
export function connectDecision(input: ConnectInput, limits: SessionLimits = LIMITS): ConnectDecision {
  const refuse = (returnCode: 2 | 4 | 5, reason: string) => ({ allow: false as const, returnCode, reason })
  if (!credentialsGiven(input.username, input.hasPassword)) return refuse(5, 'no user name or password')
  const lookup = input.lookup
  if (lookup === undefined || lookup === 'failed') return refuse(5, 'credential check failed')
  if (!lookup.ok) return refuse(4, lookup.reason)
  const user = lookup.credential.bundle
  if (input.clientIdUser !== undefined && input.clientIdUser !== user)
    return refuse(2, `client id in use by another user ('${input.clientIdUser}')`)
  const owner = input.sessionOwner
  if (owner !== undefined && owner !== user)
    return {
      ...refuse(2, `client id has a persistent session of another user ('${owner}')`),
      sessionConflict: true,
    }
  // A clean session discards the stored one once aedes registers it; the session's end then frees the id.
  if (!input.clean && owner === undefined) {
    if (input.persistentSessions >= limits.total) return refuse(2, 'too many persistent sessions')
    if (input.sessionsOf(user) >= limits.perUser)
      return refuse(2, 'too many persistent sessions of this user')
  }
  return { allow: true, user, credentialId: lookup.credential.id, claimSession: !input.clean }
}
