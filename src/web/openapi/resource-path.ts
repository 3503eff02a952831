/** A path parameter of an OpenAPI path made from a controller pattern. */
export interface PathParam {
  name: string
  /** From `#`: one or more characters of anything, `/` included. */
  catchAll: boolean
}

/** A controller pattern as an OpenAPI path. */
export interface ResourcePath {
  /** The path template, relative to `/api/v1`. */
  path: string
  params: PathParam[]
  /** What follows a `#` in the pattern: the controller never looks at it (wire-protocol.md §5.1). */
  ignored?: string
}

/** RFC 3986 `pchar` and `/`, but for `%` (checked apart): what a client sends as it is in a URL path. */
const PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/
const HEX2 = /^[0-9A-Fa-f]{2}$/

/**
 * A controller pattern as an OpenAPI path template (relative to `/api/v1`), following the controller's own
 * matching (wire-protocol.md §5.1), which sees the request path verbatim, undecoded [WP-25]:
 * - a `+` takes one or more characters up to the next `/`: `{name}`, with the name the bundle gave it (`names`,
 *   from its bundle.json `:params`) or `param1`, `param2`…; it may sit inside a level (`/networ+` → `/networ{param1}`);
 * - a `#` takes one or more characters of anything, `/` included, wherever it sits, and ends the walk: `{path}`, and
 *   whatever follows it in the pattern is `ignored` (`/c/#/d` matches what `/c/#` matches);
 * - a `+` followed by anything but `/`, `#` or the end can never pass the walk (it is greedy): such a pattern
 *   matches only its own text, so it is a literal path;
 * - literal characters are kept as they are: a client sends them verbatim, and the controller compares them so.
 *
 * Undefined when no HTTP request can be described by an OpenAPI path that reaches the pattern: one that does not
 * start with `/` or `#` (every resource of `/api/v1/…` starts with `/`), or a literal that is not a plain URL path
 * character (`?`, which would be a query; `{` `}`, which would read as a template; spaces; a `%` that is not an
 * escape).
 */
export function resourcePath(pattern: string, names: readonly string[] = []): ResourcePath | undefined {
  if (!pattern.startsWith('/') && !pattern.startsWith('#')) return undefined
  const params: PathParam[] = []
  const used = new Set<string>()
  const unique = (wanted: string) => {
    let name = wanted
    for (let i = 2; used.has(name); i++) name = `${wanted}${i}`
    used.add(name)
    return name
  }
  let path = ''
  let plus = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '#') {
      const name = unique('path')
      params.push({ name, catchAll: true })
      path += `{${name}}`
      const ignored = pattern.slice(i + 1)
      return ignored ? { path, params, ignored } : { path, params }
    }
    if (c === '+') {
      const next = pattern[i + 1]
      if (next !== undefined && next !== '/' && next !== '#') return literalPath(pattern)
      const given = names[plus]
      plus++
      const name = unique(given && /^\w+$/.test(given) ? given : `param${plus}`)
      params.push({ name, catchAll: false })
      path += `{${name}}`
      continue
    }
    if (c === '%') {
      const hex = pattern.slice(i + 1, i + 3)
      if (!HEX2.test(hex)) return undefined
      path += `%${hex}`
      i += 2
      continue
    }
    if (!PATH_CHAR.test(c)) return undefined
    path += c
  }
  return { path, params }
}

/** A pattern that only string equality can match (§5.1 step 3): its own text, if a client can send it. */
function literalPath(pattern: string): ResourcePath | undefined {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '%' ? !HEX2.test(pattern.slice(i + 1, i + 3)) : !PATH_CHAR.test(c)) return undefined
  }
  return { path: pattern, params: [] }
}
