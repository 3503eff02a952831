import type { Json } from '../../protocol/index.ts'
import type { TokenAdmin, TokenView } from '../routes/tokens.ts'
import type { EventHub } from './event-hub.ts'

function fields(t: TokenView): Json {
  const { id, description, scope, createdAt, lastUsedAt, expiresAt, revokedAt } = t
  return { id, description, scope, createdAt, lastUsedAt, expiresAt, revokedAt }
}

/**
 * The token store as token management uses it, publishing admin-only events on `/tokens/<id>`: `post` when a token
 * is created, `delete` when it is revoked (data: the token's fields, never its secret). Streams opened with a
 * revoked token are closed at once. Changes made by another process (the CLI on the same data directory) are not
 * published; their revocations still close streams at the next heartbeat.
 */
export function withTokenEvents(tokens: TokenAdmin, hub: EventHub): TokenAdmin {
  const create: TokenAdmin['create'] = (input) => {
    const made = tokens.create(input)
    hub.publish({
      resource: `/tokens/${made.token.id}`,
      method: 'post',
      code: 200,
      data: fields(made.token),
      adminOnly: true,
    })
    return made
  }
  const revoke: TokenAdmin['revoke'] = (id) => {
    const before = tokens.list().find((t) => t.id === id)
    const after = tokens.revoke(id)
    if (after && before && before.revokedAt === null) {
      hub.publish({
        resource: `/tokens/${id}`,
        method: 'delete',
        code: 200,
        data: fields(after),
        adminOnly: true,
      })
      hub.closeToken(id, 'token revoked')
    }
    return after
  }
  return { list: () => tokens.list(), create, revoke }
}
