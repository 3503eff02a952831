import type { Envelope, Json } from '../protocol/index.ts'

/**
 * How the controller refused or gave up on a request, typed (wire-protocol.md §8.5, §8.9). The controller renders it
 * as wire text (`failure-message.ts`) only where it publishes over MQTT; the web service renders it as its HTTP
 * error (`gateway/outcome-reply.ts`). Neither reads the other's text.
 */
export type Failure =
  /** [WP-34] a step's ttl ran out; `bundle` is the model that was late (none when the step had no model left). */
  | { kind: 'timeout'; bundle?: string; ttlMs: number }
  /** [WP-42] a model of the step is offline. */
  | { kind: 'offline'; bundle: string }
  /** [WP-26] no pattern matches. */
  | { kind: 'not-found' }
  /** [WP-28] patterns match, but no model serves them. */
  | { kind: 'no-model' }
  /** [WP-52][WP-53] the request met a lock (and, in default mode, waited its ttl in the queue). */
  | { kind: 'locked' }
  /** [WP-27] the id is in flight already. */
  | { kind: 'id-used' }
  /** [WP-59] no resource, no method, or a resource over 1023 characters: `reason` says which. */
  | { kind: 'bad-request'; reason: string }
  /** §8.9: the message nests deeper than the JSON depth limit (MQTT only: the web service refuses it first). */
  | { kind: 'too-deep'; depth: number; limit: number }
  /** [WP-59] the message is over 1 MiB (MQTT only). */
  | { kind: 'too-large'; limitBytes: number }
  /** The controller is stopping, or (§8.9) `limit` requests are in flight already. */
  | { kind: 'unavailable'; cause: 'stopping' }
  | { kind: 'unavailable'; cause: 'busy'; limit: number }
  /** An in-process request whose data does not serialise: `reason` is the serialiser's error. */
  | { kind: 'internal'; reason: string }

/** A model's final answer (merged over the step, §5.5), as it came: `code` is not checked here. */
export interface Answer {
  kind: 'answer'
  code: Json | undefined
  data: Json | undefined
  /** The answer's `sign`: the last entry is the bundle that answered. */
  sign: Json | undefined
}

/**
 * The final answer or failure of an in-process request. `message` is the same end as it travels on the wire (to
 * the views of a plain request, [WP-51]); in-process callers read the typed fields.
 */
export type Outcome = (Answer | Failure) & {
  /** The message as it travels on the wire. */
  message: Envelope
}

/** How a request ended, for in-process callers and their metrics. */
export type OutcomeKind = Outcome['kind']

/** The typed form of a model's answer `message`. */
export function answerOf(message: Envelope): Answer {
  return { kind: 'answer', code: message.code, data: message.data, sign: message.sign }
}
