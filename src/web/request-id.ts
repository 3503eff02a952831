import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isValidRequestId } from '../protocol/index.ts'

/** The header a request id comes in and goes back out in. */
export const REQUEST_ID_HEADER = 'x-request-id'

/** W3C Trace Context, version 00: `00-<trace-id>-<parent-id>-<flags>`, lower-case hex, ids not all zero. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)

/**
 * Fastify's `genReqId` (docs/observability.md, Request ids): a valid incoming `x-request-id` is kept (1–128 of
 * `A-Za-z0-9-._:@/+=`); otherwise a valid W3C `traceparent` gives `<trace-id>-<parent-id>` (the caller's span, one per
 * request, and a trace id one can grep for); otherwise a fresh id `<12 hex of this process>-<counter in base 36>`.
 * An invalid incoming id (too long, other characters, the header twice) is replaced, never echoed.
 */
export function requestIdGenerator(): (req: IncomingMessage) => string {
  const prefix = randomBytes(6).toString('hex')
  let n = 0
  return (req) => {
    const given = req.headers[REQUEST_ID_HEADER]
    if (isValidRequestId(given)) return given
    const tp = req.headers.traceparent
    if (typeof tp === 'string') {
      const m = TRACEPARENT.exec(tp)
      if (m && m[1] !== ZERO_TRACE && m[2] !== ZERO_SPAN) return `${m[1]}-${m[2]}`
    }
    n++
    return `${prefix}-${n.toString(36)}`
  }
}
