import { type Envelope, isObject, MAX_PAYLOAD_BYTES } from './envelope.ts'
import { MAX_JSON_DEPTH, messageDepth } from './json-budget.ts'
import { messageHead } from './message-head.ts'

/** What parsing a payload gave: a message, or why there is none. */
export type ParseResult =
  | { ok: true; message: Envelope; oversize: boolean }
  | { ok: false; reason: 'empty' | 'not-json' | 'not-object' | 'too-large' }
  | {
      ok: false
      reason: 'too-deep'
      /** How deep the message's fields nest, and the budget they broke. */
      depth: number
      limit: number
      /** The top-level fields that nest at most one level (id, tunnel, …), to answer the rejection; never deep. */
      head: Envelope | undefined
    }

/** Options of {@link parsePayload}. */
export interface ParseOptions {
  /** How deep a message's fields may nest (§8.9). @default MAX_JSON_DEPTH (64) */
  maxDepth?: number
}

/**
 * Hard ceiling on what we even try to parse. Payloads between MAX_PAYLOAD_BYTES and this are parsed only so that
 * a 413 can be answered to their tunnel [WP-59]; beyond it, they are dropped unread.
 */
export const PARSE_CEILING_BYTES = 16 * MAX_PAYLOAD_BYTES

/**
 * Parses one MQTT payload into an envelope [WP-2][WP-3][WP-4].
 * Compact or pretty-printed JSON parse the same; only objects are messages.
 * `oversize` is set when the payload is larger than 1 MiB (the caller answers 413 when it can).
 * A payload whose fields nest deeper than `maxDepth` is not parsed at all (§8.9): `too-deep`, with its shallow head.
 */
export function parsePayload(payload: Uint8Array | string, options: ParseOptions = {}): ParseResult {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
  if (size === 0) return { ok: false, reason: 'empty' }
  if (size > PARSE_CEILING_BYTES) return { ok: false, reason: 'too-large' }
  const bytes =
    typeof payload === 'string' ? undefined : Buffer.from(payload.buffer, payload.byteOffset, size)
  // §8.9: the depth is measured on the bytes, before decoding and parsing
  const limit = options.maxDepth ?? MAX_JSON_DEPTH
  const depth = messageDepth(bytes ?? (payload as string))
  const text = bytes ? bytes.toString('utf8') : (payload as string)
  if (depth > limit) return { ok: false, reason: 'too-deep', depth, limit, head: messageHead(text) }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { ok: false, reason: 'not-json' }
  }
  if (!isObject(value)) return { ok: false, reason: 'not-object' }
  return { ok: true, message: value as Envelope, oversize: size > MAX_PAYLOAD_BYTES }
}
