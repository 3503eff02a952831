import {
  controllerMessage,
  type Envelope,
  type Json,
  offlineText,
  tooDeepAnswer,
  WIRE_TEXT,
} from '../protocol/index.ts'
import type { Failure } from './outcome.ts'

/** What a controller message is about: the request's id, method and resource. */
export interface MessageHead {
  id: number
  method: string
  resource: string
}

/**
 * The wire form of a failure (§5.7): the controller's message with the code and the Sanji text of
 * `protocol/wire-replies.ts`. The one place a failure becomes wire text.
 */
export function failureMessage(head: MessageHead, f: Failure): Envelope {
  const [code, data] = codeAndData(f)
  return controllerMessage({ id: head.id, code, method: head.method, resource: head.resource, data })
}

function codeAndData(f: Failure): [number, Json | undefined] {
  switch (f.kind) {
    case 'timeout':
      return [408, { message: WIRE_TEXT.ttlExpired }]
    case 'offline':
      return [503, { message: offlineText(f.bundle) }]
    case 'not-found':
      return [404, undefined] // [WP-26] without data
    case 'no-model':
      return [403, { message: WIRE_TEXT.requestForbidden, log: WIRE_TEXT.noSubscribedModel }]
    case 'locked':
      return [423, { message: WIRE_TEXT.resourceLocked }]
    case 'id-used':
      return [403, { message: WIRE_TEXT.idUsed }]
    case 'bad-request':
      return [400, { message: WIRE_TEXT.wrongRequest, log: f.reason }]
    case 'too-deep':
      return [400, tooDeepAnswer(f.depth, f.limit)]
    case 'too-large':
      return [413, { message: WIRE_TEXT.payloadTooLarge, log: WIRE_TEXT.payloadTooLargeLog }]
    case 'unavailable':
      return f.cause === 'stopping'
        ? [503, { message: WIRE_TEXT.serviceUnavailable, log: WIRE_TEXT.controllerStopping }]
        : [503, { message: WIRE_TEXT.tooManyInFlight, log: `at most ${f.limit} at once` }]
    case 'internal':
      return [500, { message: WIRE_TEXT.cannotSerialise, log: f.reason }]
  }
}
