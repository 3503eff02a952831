/**
 * Route matching inside a bundle, as the Python SDK does it (wire-protocol.md §6 item 7).
 * @module
 */

const TRIM = /^[ \t\r\n/]+|[ \t\r\n/]+$/g

/** Strips spaces, tabs, CR, LF and `/` at both ends. */
export function trimRoute(text: string): string {
  return text.replace(TRIM, '')
}

/** A compiled bundle route: `/network/ethernet/:id` captures `id` as one run of `[\w-]+`. */
export interface RoutePattern {
  readonly source: string
  readonly params: readonly string[]
  /** The captured params when `resource` matches, else undefined. The optional `?query` is allowed and ignored. */
  match(resource: string): Record<string, string> | undefined
}

const PARAM = /:(\w+)/g

/** Compiles a route pattern such as `/thermo/:id`. */
export function compileRoute(source: string): RoutePattern {
  const trimmed = trimRoute(source)
  const params: string[] = []
  let regex = ''
  let last = 0
  for (const m of trimmed.matchAll(PARAM)) {
    regex += escapeRegex(trimmed.slice(last, m.index))
    regex += '([\\w-]+)'
    params.push(m[1]!)
    last = m.index + m[0].length
  }
  regex += escapeRegex(trimmed.slice(last))
  const re = new RegExp(`^${regex}(?:\\?.*)?$`, 's')
  return {
    source,
    params,
    match(resource: string) {
      // §6 item 7: the whole resource, query included, is trimmed at both ends; `?query` may only follow the route.
      const m = re.exec(trimRoute(resource))
      if (!m) return undefined
      const out: Record<string, string> = {}
      params.forEach((p, i) => {
        out[p] = m[i + 1]!
      })
      return out
    },
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The controller pattern a bundle registers for a route: every `:word` becomes `+` (§4.5). */
export function routeToPattern(resource: string): string {
  return resource.replace(PARAM, '+')
}
