/**
 * Controller pattern matching (wire-protocol.md §5.1). Pure and allocation-free on the hot path.
 * @module
 */

/** The resource without its query string, cut at the **last** `?` [WP-25]. */
export function resourceName(resource: string): string {
  const q = resource.lastIndexOf('?')
  return q === -1 ? resource : resource.slice(0, q)
}

/** The walk of §5.1 step 2: `#` takes one or more characters of anything, `+` greedily takes a non-empty run without `/`. */
function walk(pattern: string, name: string): boolean {
  let i = 0
  let j = 0
  while (i < pattern.length) {
    const c = pattern.charCodeAt(i)
    if (c === 35 /* # */) return j < name.length
    if (c === 43 /* + */) {
      if (j >= name.length || name.charCodeAt(j) === 47 /* / */) return false
      while (j < name.length && name.charCodeAt(j) !== 47) j++
      i++
      continue
    }
    if (j >= name.length || name.charCodeAt(j) !== c) return false
    i++
    j++
  }
  return j === name.length
}

/**
 * Whether a registered pattern matches a resource name (already cut at its query) [WP-24].
 * The walk, or plain string equality (which catches patterns such as `/+x` that the walk rejects).
 */
export function patternMatches(pattern: string, name: string): boolean {
  return walk(pattern, name) || pattern === name
}

/**
 * Every pattern of `patterns` that matches `resource`; the query is ignored [WP-24][WP-25]. As §5.1 step 4 orders
 * them: the patterns that pass the walk, in registry order, followed by the pattern equal to the name if the walk
 * did not already list it.
 */
export function matchingPatterns(patterns: Iterable<string>, resource: string): string[] {
  const name = resourceName(resource)
  const out: string[] = []
  let equal = false
  for (const p of patterns) {
    if (walk(p, name)) out.push(p)
    else if (p === name) equal = true
  }
  if (equal) out.push(name)
  return out
}
