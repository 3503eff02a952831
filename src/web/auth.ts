import { timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { sendError } from './http-error.ts'

/** Token scopes (http-api.md §3). */
export type Scope = 'read' | 'readwrite' | 'admin'

/** Who is calling: the token's public id and scope (never its secret). */
export interface Principal {
  /** The token's id; `user:<name>` for a console session. */
  tokenId: string
  scope: Scope
  /** The console user, when the call came with a session cookie ([HA-3] item 3). */
  username?: string
}

/** What the web service needs from the console's session table ([HA-10]). */
export interface SessionVerifier {
  lookup(id: string): { username: string; csrfToken: string; mustChangePassword: boolean } | undefined
  /** Whether the session still holds, without counting as activity (long-lived streams re-check with it). */
  isLive(id: string): boolean
}

/** The console's session cookie. */
export const SESSION_COOKIE = 'bg_session'

/** What the web service needs from the token store to authenticate a call. */
export interface TokenVerifier {
  verify(
    secret: string,
  ):
    | { ok: true; token: { id: string; scope: Scope } }
    | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' }
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined
  }
  interface FastifyContextConfig {
    /** A console session that must change its password may still call this route ([HA-10]). */
    duringPasswordChange?: boolean
  }
}

/** The value of the session cookie, if the request has one. */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie
  if (typeof header !== 'string') return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim()
  }
  return undefined
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The CSRF header matches the session's token (constant-time). */
export function csrfMatches(request: FastifyRequest, expected: string): boolean {
  const got = request.headers['x-csrf-token']
  if (typeof got !== 'string') return false
  const a = Buffer.from(got)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * The request's `Origin` when it names another origin than the request's own (its `Host`, with the port the Origin's
 * scheme implies); `undefined` when there is none or it is the same. Only host and port are compared: behind a
 * TLS-terminating proxy the browser's `https` reaches us as `http`, and one port never serves both schemes. An
 * `Origin` that is not an http(s) URL (`null`: sandboxed frames, files) counts as foreign.
 */
export function foreignOrigin(request: FastifyRequest): string | undefined {
  const origin = request.headers.origin
  if (origin === undefined) return undefined
  try {
    const o = new URL(origin)
    if (
      (o.protocol === 'http:' || o.protocol === 'https:') &&
      o.host === new URL(`${o.protocol}//${request.host}`).host
    )
      return undefined
  } catch {
    // not a URL: foreign
  }
  return origin
}

/**
 * A call made with the console's session cookie: a browser page of another origin may not use it (403
 * GW_ERR_CROSS_ORIGIN; SameSite=Strict does not cover same-site pages on another port, and a WebSocket upgrade has no
 * CSRF token), writes must carry the session's CSRF token (403 GW_ERR_CSRF), and a user who must change their
 * password may only do that (403 GW_ERR_PASSWORD_CHANGE_REQUIRED). [HA-3] [HA-10]
 */
function sessionPrincipal(
  request: FastifyRequest,
  reply: FastifyReply,
  session: { username: string; csrfToken: string; mustChangePassword: boolean },
): Principal | undefined {
  const foreign = foreignOrigin(request)
  if (foreign !== undefined) {
    void sendError(reply, 'GW_ERR_CROSS_ORIGIN', [JSON.stringify(foreign.slice(0, 200))])
    return undefined
  }
  if (!SAFE_METHODS.has(request.method) && !csrfMatches(request, session.csrfToken)) {
    void sendError(reply, 'GW_ERR_CSRF')
    return undefined
  }
  if (session.mustChangePassword && request.routeOptions.config.duringPasswordChange !== true) {
    void sendError(reply, 'GW_ERR_PASSWORD_CHANGE_REQUIRED')
    return undefined
  }
  return { tokenId: `user:${session.username}`, scope: 'admin', username: session.username }
}

/**
 * The credential of a request, in the order of [HA-3]: the `mx-api-token` header, then `Authorization: Bearer`,
 * then (only when `allowQuery`: the push channel, [HA-3] item 4) the `?mx-api-token=` query parameter.
 * The first one present decides.
 */
export function credentialOf(request: FastifyRequest, allowQuery = false): string | undefined {
  const header = request.headers['mx-api-token']
  if (typeof header === 'string') return header.trim()
  if (Array.isArray(header)) return header[0]?.trim()
  const auth = request.headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim())
    return m ? (m[1] as string).trim() : ''
  }
  if (allowQuery) {
    const q = (request.query as Record<string, unknown> | undefined)?.['mx-api-token']
    if (typeof q === 'string') return q.trim()
    if (Array.isArray(q)) return typeof q[0] === 'string' ? q[0].trim() : ''
  }
  return undefined
}

const WHY = { malformed: 'malformed', unknown: 'unknown', revoked: 'revoked', expired: 'expired' } as const

/**
 * Authenticates a call [HA-4]: no credential → 401 GW_ERR_AUTH_REQUIRED; a bad one → 401 GW_ERR_AUTH_INVALID;
 * both with `WWW-Authenticate: Bearer`. Returns the principal, or undefined after having answered.
 */
export function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  tokens: TokenVerifier,
  allowQuery = false,
  sessions?: SessionVerifier,
): Principal | undefined {
  let secret = credentialOf(request)
  if (secret === undefined && sessions) {
    // [HA-3] item 3, after the headers and before the query: the console's session cookie. An unknown or
    // expired session counts as no credential.
    const id = sessionCookieOf(request)
    const session = id === undefined ? undefined : sessions.lookup(id)
    if (session) return sessionPrincipal(request, reply, session)
  }
  if (secret === undefined && allowQuery) secret = credentialOf(request, true)
  if (secret === undefined || secret === '') {
    void sendError(reply, 'GW_ERR_AUTH_REQUIRED', [], { 'www-authenticate': 'Bearer realm="bundlegate"' })
    return undefined
  }
  const result = tokens.verify(secret)
  if (!result.ok) {
    void sendError(reply, 'GW_ERR_AUTH_INVALID', [WHY[result.reason]], {
      'www-authenticate': 'Bearer realm="bundlegate", error="invalid_token"',
    })
    return undefined
  }
  return { tokenId: result.token.id, scope: result.token.scope }
}

/** Whether a scope allows a method on bundle resources [HA-5]: read = GET only; readwrite and admin = all. */
export function scopeAllows(scope: Scope, method: string): boolean {
  return scope !== 'read' || method === 'GET'
}
