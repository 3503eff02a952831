import type { Envelope } from '../protocol/index.ts'

/** How a request ended, for in-process callers (the web service maps it to HTTP, wire-protocol.md §8.5). */
export type OutcomeKind =
  | 'answer'
  | 'timeout'
  | 'offline'
  | 'not-found'
  | 'no-model'
  | 'locked'
  | 'id-used'
  | 'bad-request'
  | 'too-large'
  | 'unavailable'
  | 'internal'

/** The final answer or error of a request, with what the web service needs to name the failure. */
export interface Outcome {
  kind: OutcomeKind
  /** The message as it would travel on the wire. */
  message: Envelope
  /** The bundle a timeout or an offline answer is about. */
  bundle?: string
  /** The step ttl that expired. */
  ttlMs?: number
}
