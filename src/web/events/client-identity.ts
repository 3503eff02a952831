import type { FastifyRequest } from 'fastify'
import { credentialOf, type SessionVerifier, sessionCookieOf, type TokenVerifier } from '../auth.ts'

/** Who a push client is, and how to tell later whether its credential still holds. */
export interface ClientIdentity {
  admin: boolean
  tokenId: string | undefined
  scope: string
  /** False once the token was revoked or expired (also by another process: the CLI), or the session ended. */
  stillValid(): boolean
}

/**
 * The identity of an authenticated push request (after the onRequest hook). With authentication off every caller
 * is an admin. A console session (cookie) is re-checked in the session table, without counting as activity.
 */
export function clientIdentity(
  request: FastifyRequest,
  tokens: TokenVerifier | undefined,
  sessions?: SessionVerifier,
): ClientIdentity {
  if (!tokens) return { admin: true, tokenId: undefined, scope: 'admin', stillValid: () => true }
  const p = request.principal
  return {
    admin: p?.scope === 'admin',
    tokenId: p?.tokenId,
    scope: p?.scope ?? 'read',
    stillValid: p?.username !== undefined ? sessionCheck(request, sessions) : tokenCheck(request, tokens),
  }
}

/** A console session's stream holds while its session does (a check that is not activity). */
function sessionCheck(request: FastifyRequest, sessions: SessionVerifier | undefined): () => boolean {
  const cookie = sessionCookieOf(request)
  return () => cookie !== undefined && (sessions?.isLive(cookie) ?? false)
}

/** A token's stream holds while the token verifies (revocation and expiry, also by another process). */
function tokenCheck(request: FastifyRequest, tokens: TokenVerifier): () => boolean {
  const secret = credentialOf(request, true)
  return () => {
    if (!secret) return true
    try {
      return tokens.verify(secret).ok
    } catch {
      return true // the store is closing with the gateway; the stream ends anyway
    }
  }
}
