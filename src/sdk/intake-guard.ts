/**
 * What the SDK does with hostile input it cannot take (wire-protocol.md §8.9): a request nested deeper than the
 * JSON depth budget is answered 400 from its shallow head, like the controller does; an answer of the bundle's own
 * that does not serialise (a cyclic or too deep handler result) becomes a 500 instead of an exception.
 * @module
 */

import { classifySdk, type Envelope, type ParseResult } from '../protocol/index.ts'

/** A payload refused by the depth budget. */
export type TooDeep = Extract<ParseResult, { reason: 'too-deep' }>

/** The log line (counted, rate-limited) of a message dropped by the depth budget. */
export const TOO_DEEP_DROP = 'message dropped: nested deeper than the JSON depth limit'

/** The head of a too-deep message when it is a request the bundle answers (REQUEST, DIRECT, HOOK), else undefined. */
export function tooDeepRequest(p: TooDeep): Envelope | undefined {
  const head = p.head
  if (!head) return undefined
  const kind = classifySdk(head)
  return kind === 'REQUEST' || kind === 'DIRECT' || kind === 'HOOK' ? head : undefined
}

/** The JSON of a bundle response; when its `data` does not serialise, a 500 with `message` (and `onError` told). */
export function encodeResponse(response: Envelope, onError: (err: Error) => void): string {
  try {
    return JSON.stringify(response)
  } catch (err) {
    onError(err as Error)
    return JSON.stringify({ ...response, code: 500, data: { message: 'Internal Error.' } })
  }
}
