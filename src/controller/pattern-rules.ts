/**
 * Which registration patterns the controller accepts (wire-protocol.md §8.2a, [WP-62]). Pure: no registry, no
 * broker. The rules close the catch-all attacks of issue 12: a model on `#`, `/#`, `/+` or `/controller/#` would
 * receive every request with its body and `caller`, merge its fields into other bundles' answers, answer other
 * bundles' registration calls, and make every resource 503 when it goes offline.
 * @module
 */

import { MAX_RESOURCE_CHARS } from '../protocol/index.ts'

/** The longest pattern accepted, in UTF-16 code units (§8.9). */
export const MAX_PATTERN_CHARS = MAX_RESOURCE_CHARS

/**
 * First levels no bundle may register, whatever its role: the controller's own resources (`/controller…`, the
 * registration and dependency built-ins) and `/api` (a resource `/api/v1/x` would be served at
 * `/api/v1/api/v1/x` and read as one of the web service's own paths). The web service's reserved names (`/tokens`,
 * `/bundles`, …) are passed by the gateway and answered 409 as before ([HA-11]).
 */
export const RESERVED_FIRST_LEVELS: readonly string[] = ['controller', 'api']

/** C0 controls, DEL and C1 controls: never part of a resource (NUL included). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true
  }
  return false
}

/** Names the rule a refused pattern breaks; the text goes into `data.log` of the 400 reply. */
export type PatternRule = 'control' | 'length' | 'slash' | 'first-level-wildcard' | 'reserved'

/** A refused pattern: the rule and the `data.log` text of the 400 answer. */
export interface PatternRefusal {
  rule: PatternRule
  log: string
}

/** The first level of a pattern that starts with `/`: the characters up to the next `/` or the end. */
export function firstLevel(pattern: string): string {
  const end = pattern.indexOf('/', 1)
  return end === -1 ? pattern.slice(1) : pattern.slice(1, end)
}

/** Shows a refused pattern in a log text: JSON-quoted (control characters escaped), cut to 80 characters. */
function shown(pattern: string): string {
  const cut = pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern
  return JSON.stringify(cut)
}

/**
 * Why `pattern` may not be registered by a component of `role`, or undefined when it may.
 *
 * Every role: no control character; at most 1023 characters; starts with `/`; its first level is not `controller`
 * or `api`. Models (and every role other than `view`): the first level holds no wildcard (`#`, `+`), so a model
 * only ever receives requests of the one first level it names (`/+`, `/#`, `/a#`, `/+/x` are refused). Views may
 * keep a wildcard there (`/#`, the original web layer's pattern, §7): a view receives final answers and events,
 * never a request, its body, or a reply tunnel (docs/security.md).
 */
export function patternRefusal(pattern: string, role: string): PatternRefusal | undefined {
  if (hasControl(pattern))
    return { rule: 'control', log: `'resources' entry ${shown(pattern)} contains a control character` }
  if (pattern.length > MAX_PATTERN_CHARS)
    return { rule: 'length', log: `'resources' entry exceeds ${MAX_PATTERN_CHARS} characters` }
  if (!pattern.startsWith('/'))
    return { rule: 'slash', log: `'resources' entry ${shown(pattern)} must start with '/'` }
  const level = firstLevel(pattern)
  if (RESERVED_FIRST_LEVELS.includes(level)) {
    return {
      rule: 'reserved',
      log: `'resources' entry ${shown(pattern)} is under '/${level}', which belongs to the gateway`,
    }
  }
  if (role !== 'view' && (level.includes('#') || level.includes('+'))) {
    return {
      rule: 'first-level-wildcard',
      log: `'resources' entry ${shown(pattern)} has a wildcard in its first level: a ${role} must name its first level`,
    }
  }
  return undefined
}

/** The first refused pattern of a registration, in request order. */
export function firstRefusal(patterns: readonly string[], role: string): PatternRefusal | undefined {
  for (const p of patterns) {
    const refusal = patternRefusal(p, role)
    if (refusal) return refusal
  }
  return undefined
}
