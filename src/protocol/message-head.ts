/**
 * The head of a message too deep to be parsed as a whole (§8.9): its top-level fields whose values nest at most one
 * level (`id`, `method`, `resource`, `tunnel`, `code`, `sign`, …), read without building the deep parts, so that
 * the rejection can be answered to its tunnel [WP-59] and nothing deep is ever held.
 * @module
 */

import type { Envelope, Json } from './envelope.ts'
import { stringEnd } from './json-budget.ts'

/** Values that nest deeper than this are left out of the head. */
const HEAD_VALUE_DEPTH = 1

function skipSpace(text: string, i: number): number {
  let j = i
  for (;;) {
    const c = text.charCodeAt(j)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return j
    j++
  }
}

/** Where the value starting at `start` ends (exclusive) and how deep it nests; end -1 when it never ends. */
function skipValue(text: string, start: number): { end: number; depth: number } {
  const first = text[start]
  if (first === '"') {
    const end = stringEnd(text, start)
    return { end: end >= text.length ? -1 : end + 1, depth: 0 }
  }
  if (first !== '{' && first !== '[') {
    let j = start
    while (j < text.length && !',}] \n\r\t'.includes(text[j] as string)) j++
    return { end: j, depth: 0 }
  }
  let depth = 0
  let max = 0
  for (let j = start; j < text.length; j++) {
    const c = text[j]
    if (c === '"') j = stringEnd(text, j)
    else if (c === '{' || c === '[') max = Math.max(max, ++depth)
    else if ((c === '}' || c === ']') && --depth === 0) return { end: j + 1, depth: max }
  }
  return { end: -1, depth: max }
}

/**
 * The top-level fields of a JSON object text whose values nest at most one level, each parsed on its own; keys are
 * own properties (`__proto__` included, as JSON.parse makes them), the last of duplicate keys wins. Undefined when
 * the text is not an object or breaks JSON where it is read.
 */
export function messageHead(text: string): Envelope | undefined {
  let i = skipSpace(text, 0)
  if (text[i] !== '{') return undefined
  const head: Envelope = {}
  i = skipSpace(text, i + 1)
  if (text[i] === '}') return head
  for (;;) {
    if (text[i] !== '"') return undefined
    const keyEnd = stringEnd(text, i)
    if (keyEnd >= text.length) return undefined
    let key: string
    try {
      key = JSON.parse(text.slice(i, keyEnd + 1)) as string
    } catch {
      return undefined
    }
    i = skipSpace(text, keyEnd + 1)
    if (text[i] !== ':') return undefined
    i = skipSpace(text, i + 1)
    const value = skipValue(text, i)
    if (value.end === -1) return undefined
    if (value.depth <= HEAD_VALUE_DEPTH) {
      try {
        const v = JSON.parse(text.slice(i, value.end)) as Json
        Object.defineProperty(head, key, { value: v, enumerable: true, writable: true, configurable: true })
      } catch {
        return undefined
      }
    } else {
      delete head[key] // a deep value replaces an earlier shallow one of the same key: the head has neither
    }
    i = skipSpace(text, value.end)
    if (text[i] === '}') return head
    if (text[i] !== ',') return undefined
    i = skipSpace(text, i + 1)
  }
}
