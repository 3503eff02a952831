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
  // Object.fromEntries defines own properties, so a key such as `__proto__` is kept like any other.
  return Object.fromEntries(
    Array.from(seen, ([key, values]): [string, string | true | string[]] => [
      key,
      values.length > 1 ? values : values[0] === '' || values[0] === undefined ? true : values[0],
    ]),
  )
}

/** The query string of a resource for a bundle: everything after its first `?`, or '' when there is none. */
export function querySearch(resource: string): string {
  const q = resource.indexOf('?')
  return q === -1 ? '' : resource.slice(q + 1)
}
