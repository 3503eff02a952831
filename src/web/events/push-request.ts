import type { FastifyRequest } from 'fastify'
import { type ClientIdentity, clientIdentity } from './client-identity.ts'
import { PatternSet } from './pattern-set.ts'
import type { PushRouteDeps } from './push-route-deps.ts'
import { checkPushSlot } from './push-slots.ts'
import { resumePoint } from './resume-point.ts'

/** What a push request asks for, and who asks. */
export interface PushRequest {
  patterns: PatternSet
  /** The event id to replay after (`Last-Event-ID` or `?lastEventId=`); undefined for a fresh start. */
  resumeAfter: number | undefined
  who: ClientIdentity
}

/**
 * Reads a push request (SSE or WebSocket): its `?resource=` patterns (at least one when `patternRequired`), where it
 * resumes, and its identity.
 * @throws GW_ERR_EVENTS_PATTERN or GW_ERR_BAD_REQUEST for a wrong query; GW_ERR_EVENTS_TOO_MANY_CLIENTS or
 *   GW_ERR_EVENTS_TOKEN_CLIENTS when no slot is open to the caller (push-slots.ts).
 */
export function pushRequest(
  request: FastifyRequest,
  deps: PushRouteDeps,
  patternRequired: boolean,
): PushRequest {
  const query = request.query as Record<string, unknown>
  const patterns = PatternSet.fromQuery(query.resource, patternRequired)
  const resumeAfter = resumePoint(request)
  const who = clientIdentity(request, deps.tokens, deps.sessions)
  checkPushSlot(who, deps.hub, deps.options)
  return { patterns, resumeAfter, who }
}
