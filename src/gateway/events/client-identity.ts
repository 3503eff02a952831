import type { FastifyRequest } from 'fastify'
import { credentialOf, type TokenVerifier } from '../auth.ts'

/** Who a push client is, and how to tell later whether its credential still holds. */
export interface ClientIdentity {
  admin: boolean
  tokenId: string | undefined
  scope: string
  /** False once the token was revoked or expired (also by another process: the CLI). */
  stillValid(): boolean
}

/**
 * The identity of an authenticated push request (after the onRequest hook). With authentication off every caller
 * is an admin. A credential the store cannot re-check by secret (a console session) stays valid for the stream.
 */
export function clientIdentity(request: FastifyRequest, tokens: TokenVerifier | undefined): ClientIdentity {
  if (!tokens) return { admin: true, tokenId: undefined, scope: 'admin', stillValid: () => true }
  const p = request.principal
  // a console session (cookie) has no secret to re-check here
  const secret = p?.username === undefined ? credentialOf(request, true) : undefined
  return {
    admin: p?.scope === 'admin',
    tokenId: p?.tokenId,
    scope: p?.scope ?? 'read',
    stillValid() {
      if (!secret) return true
      try {
        return tokens.verify(secret).ok
      } catch {
        return true // the store is closing with the gateway; the stream ends anyway
      }
    },
  }
}
