import type { Envelope } from './envelope.ts'

/** Longest request id accepted (from an `x-request-id` header or an envelope's `requestId`). */
export const MAX_REQUEST_ID_CHARS = 128

/** Letters, digits and `-._:@/+=`: safe in a header, a log line and a URL, without spaces or quotes. */
const REQUEST_ID = /^[A-Za-z0-9\-._:@/+=]{1,128}$/

/** Whether `value` is a request id we accept as is (docs/observability.md, Request ids). */
export function isValidRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value)
}

/**
 * The request id an envelope carries (`requestId`, a Bundlegate extension key, wire-protocol.md §3.4), when it is a
 * valid one; anything else (a number, an object, 10 kB of text) counts as none: the key is hostile input like the rest.
 */
export function requestIdOf(message: Envelope): string | undefined {
  const v = message.requestId
  return isValidRequestId(v) ? v : undefined
}
