/**
 * Query-string parsing exactly as the Python SDK does it (wire-protocol.md §6 item 8).
 * @module
 */

/** The `query` object handlers receive: a single value is a string, a bare or empty one is `true`, a repeated key a list. */
export type Query = Record<string, string | true | string[]>

function decode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * Parses the part after `?` (without the `?`): split on `&`, values URL-decoded, empty keys dropped.
 * `x=1&flag&a=1&a=2` → `{ x: '1', flag: true, a: ['1', '2'] }`.
 */
export function parseQuery(search: string): Query {
  const seen = new Map<string, string[]>()
  for (const part of search.split('&')) {
    const eq = part.indexOf('=')
    const key = eq === -1 ? part : part.slice(0, eq)
    if (key.length === 0) continue
    const value = eq === -1 ? '' : decode(part.slice(eq + 1))
    const list = seen.get(key)
    if (list) list.push(value)
    else seen.set(key, [value])
  }
  const query: Query = {}
  for (const [key, values] of seen) {
    if (values.length > 1) query[key] = values
    else query[key] = values[0] === '' || values[0] === undefined ? true : values[0]
  }
  return query
}

/** The query string of a resource for a bundle: everything after its first `?`, or '' when there is none. */
export function querySearch(resource: string): string {
  const q = resource.indexOf('?')
  return q === -1 ? '' : resource.slice(q + 1)
}
