/** A path parameter of an OpenAPI path made from a controller pattern. */
export interface PathParam {
  name: string
  /** From `#`: any number of levels, `/` included. */
  catchAll: boolean
}

/**
 * A controller pattern as an OpenAPI path template (relative to `/api/v1`): each `+` level becomes `{name}`, with the
 * name the bundle gave it (`names`, from its bundle.json `:params`) or `param1`, `param2`…; a final `#` becomes a
 * `{path}` parameter that stands for any number of levels (OpenAPI has no multi-level parameter, so this one is
 * documented as such). `/x/#` also matches `/x` itself: that is said in the parameter's description.
 */
export function resourcePath(
  pattern: string,
  names: readonly string[] = [],
): { path: string; params: PathParam[] } {
  const params: PathParam[] = []
  const used = new Set<string>()
  const unique = (wanted: string) => {
    let name = wanted
    for (let i = 2; used.has(name); i++) name = `${wanted}${i}`
    used.add(name)
    return name
  }
  let plus = 0
  const levels = pattern.split('/').map((level, i, all) => {
    if (level === '+') {
      const given = names[plus]
      plus++
      const name = unique(given && /^\w+$/.test(given) ? given : `param${plus}`)
      params.push({ name, catchAll: false })
      return `{${name}}`
    }
    if (level === '#' && i === all.length - 1) {
      const name = unique('path')
      params.push({ name, catchAll: true })
      return `{${name}}`
    }
    // braces would read as a template: percent-encode them in literal levels
    return level.replace(/[{}]/g, (c) => encodeURIComponent(c))
  })
  return { path: levels.join('/'), params }
}
