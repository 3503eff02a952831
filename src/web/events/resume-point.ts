import type { FastifyRequest } from 'fastify'
import { createError } from '../../errors.ts'

/**
 * Where a client resumes: the `Last-Event-ID` header (EventSource sends it when it reconnects), else the
 * `lastEventId` query parameter; undefined for a fresh start.
 * @throws GW_ERR_BAD_REQUEST when it is not an event id (digits).
 */
export function resumePoint(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id']
  const query = (request.query as Record<string, unknown> | undefined)?.lastEventId
  const raw = typeof header === 'string' && header.trim() !== '' ? header.trim() : query
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || !/^\d{1,16}$/.test(raw))
    throw createError('GW_ERR_BAD_REQUEST', [
      `Expected Last-Event-ID to be an event id (digits), got ${JSON.stringify(raw)}`,
    ])
  return Number(raw)
}
