/**
 * The JSON depth budget (wire-protocol.md §8.9): every JSON text that comes from MQTT, HTTP or a WebSocket is
 * measured once, before it is parsed, by a single linear scan without recursion. Anything deeper than the budget is
 * refused where it enters, so nothing later (JSON.stringify, structuredClone, ajv, merges) ever recurses on hostile
 * structure: V8's JSON.stringify overflows the stack somewhere between 4,000 and 5,000 levels.
 * @module
 */

/**
 * How deep a value may nest: a message's fields (its `data`), an HTTP body, a WebSocket message's fields. 64, as
 * .NET's System.Text.Json (serde_json allows 128): real configuration documents and JSON Schemas stay well below
 * 20 levels, and 64 is 60 times below the depth where the first recursive walk would overflow the stack.
 */
export const MAX_JSON_DEPTH = 64

/** The largest budget a configuration may set (`limits.jsonDepth`): still 8 times below the stack overflow. */
export const MAX_JSON_DEPTH_LIMIT = 512

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/**
 * The deepest nesting of arrays and objects in a JSON text, in one pass over its characters, without recursion and
 * without allocating: `1` → 0, `{}` → 1, `{"a":[1]}` → 2. Brackets inside strings do not count (escapes are
 * honoured). The text need not be valid JSON; the parser judges that afterwards. UTF-8 bytes (an MQTT payload) are
 * scanned as they are, before any decoding: quotes, backslashes and brackets never occur inside a multi-byte
 * sequence, so the answer is the same as for the decoded text.
 */
export function jsonDepth(text: string | Uint8Array): number {
  if (typeof text !== 'string') return bytesDepth(text)
  let depth = 0
  let max = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(text, i)
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) max = depth
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth > 0) depth--
    }
  }
  return max
}

/** Strings up to this long are skipped byte by byte; longer ones with the native `indexOf`. */
const SHORT_STRING = 64

/** {@link jsonDepth} of UTF-8 bytes. */
function bytesDepth(bytes: Uint8Array): number {
  let depth = 0
  let max = 0
  const n = bytes.length
  for (let i = 0; i < n; i++) {
    const c = bytes[i]
    if (c === QUOTE) {
      i = bytesStringEnd(bytes, i)
      if (i === -1) return max
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) max = depth
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth > 0) depth--
    }
  }
  return max
}

/** The index of the quote closing the string that opens at `start`, or -1 when it never closes. */
function bytesStringEnd(bytes: Uint8Array, start: number): number {
  const stop = Math.min(bytes.length, start + SHORT_STRING)
  let j = start + 1
  for (; j < stop; j++) {
    const d = bytes[j]
    if (d === BACKSLASH) j++
    else if (d === QUOTE) return j
  }
  // long: from quote to quote; a quote after an odd run of backslashes is escaped
  let i = j - 1
  for (;;) {
    i = bytes.indexOf(QUOTE, i + 1)
    if (i === -1) return -1
    let slashes = 0
    while (bytes[i - 1 - slashes] === BACKSLASH) slashes++
    if (slashes % 2 === 0) return i
  }
}

/**
 * The index of the closing quote of the string that opens at `start` (the text's length when it never closes).
 * Jumps from quote to quote with `indexOf`; a quote preceded by an odd run of backslashes is escaped.
 */
export function stringEnd(text: string, start: number): number {
  let i = start
  for (;;) {
    i = text.indexOf('"', i + 1)
    if (i === -1) return text.length
    let slashes = 0
    while (text.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes++
    if (slashes % 2 === 0) return i
  }
}

/**
 * How deep the fields of a message (a JSON object text: an MQTT envelope, a WebSocket message) nest: the object's
 * own level does not count, so a message whose `data` is an HTTP body of depth d has depth d.
 */
export function messageDepth(text: string | Uint8Array): number {
  return Math.max(0, jsonDepth(text) - 1)
}

/** The wire answer to a message over the budget (§8.9), like the 413 of an oversize one [WP-59]. */
export function tooDeepAnswer(depth: number, limit: number): { message: string; log: string } {
  return {
    message: 'payload too deep',
    log: `payload nests ${depth} levels deep, over the limit of ${limit}`,
  }
}
