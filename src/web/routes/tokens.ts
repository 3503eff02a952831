import type { FastifyInstance } from 'fastify'
import { createError } from '../../errors.ts'
import type { Scope } from '../auth.ts'
import { sendError } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'

/** A token as listed (never its secret). */
export interface TokenView {
  id: string
  description: string
  scope: Scope
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string | null
  revokedAt: string | null
  /** The token's effective request limit ([HA-12]); null: not limited. Only in `GET /api/v1/tokens`. */
  rateLimit?: { perSecond: number; burst: number } | null
}

/** What token management needs from the token store. */
export interface TokenAdmin {
  list(): TokenView[]
  create(input: { description: string; scope: Scope; expiresInSec?: number }): {
    token: TokenView
    secret: string
  }
  revoke(id: string): TokenView | undefined
}

function view(t: TokenView): TokenView {
  const { id, description, scope, createdAt, lastUsedAt, expiresAt, revokedAt } = t
  return { id, description, scope, createdAt, lastUsedAt, expiresAt, revokedAt }
}

/** `GET/POST /api/v1/tokens`, `DELETE /api/v1/tokens/:id`, admin only ([HA-9]). */
export function tokenRoutes(
  app: FastifyInstance,
  tokens: TokenAdmin,
  limitOf: (scope: Scope) => { perSecond: number; burst: number } | null = () => null,
): void {
  const config = { auth: 'admin' as const }
  app.get(`${API_PREFIX}/tokens`, { config }, async () =>
    tokens.list().map((t) => ({ ...view(t), rateLimit: limitOf(t.scope) })),
  )
  app.post(`${API_PREFIX}/tokens`, { config }, async (request, reply) => {
    const body = request.body as
      | { description?: unknown; scope?: unknown; expiresInSec?: unknown }
      | undefined
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw createError('GW_ERR_BAD_REQUEST', ['expected a JSON object {description, scope, expiresInSec?}'])
    }
    if (body.scope !== 'read' && body.scope !== 'readwrite') {
      throw createError('GW_ERR_BAD_REQUEST', [
        `Expected \`scope\` to be read or readwrite, got \`${JSON.stringify(body.scope)}\` (${typeof body.scope})`,
      ])
    }
    const input: { description: string; scope: Scope; expiresInSec?: number } = {
      description: body.description as string,
      scope: body.scope,
    }
    if (body.expiresInSec !== undefined) input.expiresInSec = body.expiresInSec as number
    const { token, secret } = tokens.create(input)
    return reply.code(201).send({ ...view(token), token: secret })
  })
  app.delete(`${API_PREFIX}/tokens/:id`, { config }, async (request, reply) => {
    const { id } = request.params as { id: string }
    if (!tokens.revoke(id)) {
      return sendError(reply, 'GW_ERR_TOKEN_NOT_FOUND', [id])
    }
    return reply.code(204).send()
  })
}
