import { createError } from '../../errors.ts'
import type { ClientIdentity } from './client-identity.ts'
import type { EventHub } from './event-hub.ts'
import type { EventsOptions } from './events-options.ts'

/**
 * Whether one more push client of `who` fits (docs/config.md `events.*`, issue 12): at most `maxClients` in all; of
 * those, the last `adminReserve` only for admins (admin tokens, console sessions), so read tokens can never make an
 * admin's stream 503; and at most `maxClientsPerToken` for one read or readwrite token, so one token cannot take
 * every non-admin slot either. Admins (admin tokens, console sessions; every caller with authentication off) are
 * not counted per token: they are trusted, and the console opens a stream per page.
 * @throws GW_ERR_EVENTS_TOO_MANY_CLIENTS (503) when the slots open to `who` are taken; GW_ERR_EVENTS_TOKEN_CLIENTS
 *   (429) when its token holds its share.
 */
export function checkPushSlot(who: ClientIdentity, hub: EventHub, options: EventsOptions): void {
  const total = options.maxClients
  const open = who.admin ? total : Math.max(0, total - (options.adminReserve ?? 0))
  if (hub.clients >= open) throw createError('GW_ERR_EVENTS_TOO_MANY_CLIENTS', [open])
  const perToken = options.maxClientsPerToken
  if (who.admin || perToken === undefined || who.tokenId === undefined) return
  const tokenId = who.tokenId
  if (hub.countClients((s) => s.tokenId === tokenId) >= perToken)
    throw createError('GW_ERR_EVENTS_TOKEN_CLIENTS', [perToken])
}
