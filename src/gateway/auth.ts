import type { FastifyReply, FastifyRequest } from 'fastify'
import { errorReply } from './http-error.ts'

/** Token scopes (http-api.md §3). */
export type Scope = 'read' | 'readwrite' | 'admin'

/** Who is calling: the token's public id and scope (never its secret). */
export interface Principal {
  tokenId: string
  scope: Scope
}

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
}

/**
 * The credential of a request, in the order of [HA-3]: the `mx-api-token` header, then `Authorization: Bearer`.
 * The first one present decides.
 */
export function credentialOf(request: FastifyRequest): string | undefined {
  const header = request.headers['mx-api-token']
  if (typeof header === 'string') return header.trim()
  if (Array.isArray(header)) return header[0]?.trim()
  const auth = request.headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim())
    return m ? (m[1] as string).trim() : ''
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
): Principal | undefined {
  const secret = credentialOf(request)
  if (secret === undefined || secret === '') {
    const r = errorReply('GW_ERR_AUTH_REQUIRED')
    void reply.code(r.status).header('www-authenticate', 'Bearer realm="bundlegate"').send(r.body)
    return undefined
  }
  const result = tokens.verify(secret)
  if (!result.ok) {
    const r = errorReply('GW_ERR_AUTH_INVALID', [WHY[result.reason]])
    void reply
      .code(r.status)
      .header('www-authenticate', 'Bearer realm="bundlegate", error="invalid_token"')
      .send(r.body)
    return undefined
  }
  return { tokenId: result.token.id, scope: result.token.scope }
}

/** Whether a scope allows a method on bundle resources [HA-5]: read = GET only; readwrite and admin = all. */
export function scopeAllows(scope: Scope, method: string): boolean {
  return scope !== 'read' || method === 'GET'
}
