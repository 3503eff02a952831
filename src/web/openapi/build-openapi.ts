import type { ComponentInfo } from '../../controller/index.ts'
import { isObject } from '../../protocol/index.ts'
import { API_PREFIX } from '../map-resource.ts'
import { GATEWAY_OPERATIONS, type GatewayOperation } from './gateway-operations.ts'
import { ERROR_RESPONSES, openApiComponents } from './openapi-components.ts'
import { type PathParam, resourcePath } from './resource-path.ts'
import type { RecordedRoute } from './route-recorder.ts'

type Obj = Record<string, unknown>

/** What the document is made of. */
export interface OpenApiInput {
  /** The registered components (`core.components()`). */
  components: readonly ComponentInfo[]
  /** The web service's own routes ({@link RecordedRoute}). */
  routes: readonly RecordedRoute[]
  /** `info.version`: the gateway's version. */
  version: string
  /** Whether requests are rate limited (429 and the `RateLimit-*` headers are documented). */
  rateLimited: boolean
  /** Whether tokens are checked (off: no security at all). */
  auth: boolean
  /** Counts the rebuilds: `info.x-generation`, so a client can tell that the document changed. */
  generation: number
}

const BUNDLE_METHODS = ['get', 'post', 'put', 'delete'] as const
/** The controller's built-ins and the methods they answer (wire-protocol.md §4). */
const BUILTIN_METHODS: Readonly<Record<string, readonly string[]>> = {
  registration: ['post', 'delete'],
  dependency: ['get'],
}
/** Any one of these credentials ([HA-3]). */
const SECURITY = [{ apiToken: [] }, { bearer: [] }, { consoleSession: [] }]
const RESOURCE_ERRORS = ['400', '401', '403', '404', '423', '429', '500', '502', '503', '504']
const WRITE_ERRORS = ['413', '415']

/** The document while it is built: its paths and tags, and the helpers every operation uses. */
interface Doc {
  input: OpenApiInput
  paths: Record<string, Record<string, unknown>>
  tags: Obj[]
  /** `RateLimit-*` headers of a 2xx answer, when requests are limited. */
  limitHeaders: Obj
  /** The error responses of `statuses`, as references. */
  errorRefs(statuses: readonly string[]): Obj
  /** A unique operation id from method and path. */
  operationId(method: string, path: string): string
}

/** A pattern of a component, placed at its OpenAPI path. */
interface PlacedPattern {
  c: ComponentInfo
  tag: string
  pattern: string
  full: string
  params: PathParam[]
  ignored: string | undefined
  /** The methods the bundle declares for it; undefined: none declared. */
  listed: readonly string[] | undefined
  perMethod: Obj
}

/**
 * The OpenAPI 3.1 document of the gateway: its own endpoints (only those registered), then every resource of every
 * registered model (paths from patterns, methods as declared, JSON Schemas as the bundle's routes declare them),
 * one tag per bundle. Pure: same input, same document.
 */
export function buildOpenApi(input: OpenApiInput): Obj {
  const components = openApiComponents()
  const doc = newDoc(input)
  // 1. the gateway's own endpoints, as registered
  for (const r of input.routes) addGatewayRoute(doc, r)
  // 2. the resources of every registered model (and the controller's built-ins, admin only over HTTP)
  const undocumented = addResources(doc, input.components)
  const sorted = Object.fromEntries(
    Object.entries(doc.paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  )
  return {
    openapi: '3.1.1',
    info: {
      title: 'Bundlegate',
      version: input.version,
      description:
        "The gateway's web service and every resource registered right now, generated from the live registrations (rebuilt when a bundle registers or leaves). Bundle resources are served under `/api/v1`; their answers pass through (the bundle's code is the status). Errors are `Error` bodies.",
      'x-generation': input.generation,
    },
    servers: [{ url: '/', description: 'This gateway' }],
    ...(input.auth ? { security: SECURITY } : {}),
    tags: doc.tags,
    paths: sorted,
    components,
    // patterns a request under /api/v1 cannot be described to reach (no leading `/`, `?`, braces…): listed, not lost
    ...(undocumented.length > 0 ? { 'x-bundlegate-undocumented': undocumented } : {}),
  }
}

function newDoc(input: OpenApiInput): Doc {
  const ids = new Set<string>()
  return {
    input,
    paths: {},
    tags: [{ name: 'gateway', description: "The web service's own endpoints." }],
    limitHeaders: input.rateLimited
      ? {
          'RateLimit-Limit': { $ref: '#/components/headers/RateLimit-Limit' },
          'RateLimit-Remaining': { $ref: '#/components/headers/RateLimit-Remaining' },
        }
      : {},
    errorRefs: (statuses) =>
      Object.fromEntries(
        [...new Set(statuses)]
          .filter((s) => (s === '429' ? input.rateLimited : true) && ERROR_RESPONSES[s])
          .sort()
          .map((s) => [s, { $ref: `#/components/responses/${ERROR_RESPONSES[s]}` }]),
      ),
    operationId: (method, path) => {
      const base = `${method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`
      let id = base
      for (let i = 2; ids.has(id); i++) id = `${base}${i}`
      ids.add(id)
      return id
    },
  }
}

/** One of the web service's own routes (only `/health`, `/ready` and `/api/v1/...`; no wildcards, HEAD, OPTIONS). */
function addGatewayRoute(doc: Doc, r: RecordedRoute): void {
  if (r.method === 'HEAD' || r.method === 'OPTIONS' || r.url.includes('*')) return
  if (!(r.url === '/health' || r.url === '/ready' || r.url.startsWith(`${API_PREFIX}/`))) return
  const params: string[] = []
  const path = r.url.replace(/:(\w+)(\([^)]*\))?/g, (_m, name: string) => {
    params.push(name)
    return `{${name}}`
  })
  const known: GatewayOperation = GATEWAY_OPERATIONS[`${r.method} ${r.url}`] ?? {
    summary: `${r.method} ${path}`,
    responses: { '200': { description: 'OK' } },
  }
  const method = r.method.toLowerCase()
  const guarded = doc.input.auth && r.auth !== 'none'
  const errors = [...(known.errors ?? []), '500']
  if (guarded) errors.push('401', '429')
  if (guarded && r.auth === 'admin') errors.push('403')
  const responses: Obj = {}
  for (const [status, res] of Object.entries(known.responses)) {
    responses[status] =
      guarded && status.startsWith('2')
        ? { ...res, headers: { ...doc.limitHeaders, ...(res.headers as Obj) } }
        : res
  }
  const operation: Obj = {
    tags: ['gateway'],
    summary: known.summary,
    description: [known.description, guarded ? scopeNote(r.auth) : 'No token needed.']
      .filter(Boolean)
      .join('\n\n'),
    operationId: doc.operationId(method, path),
    parameters: [
      ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...(known.parameters ?? []),
    ],
    ...(known.requestBody ? { requestBody: known.requestBody } : {}),
    responses: { ...responses, ...doc.errorRefs(errors) },
  }
  if (!guarded) operation.security = []
  else if (r.queryToken) operation.security = [...SECURITY, { queryToken: [] }]
  const item = doc.paths[path] ?? {}
  item[method] ??= operation
  doc.paths[path] = item
}

/** Every pattern of every model and built-in, one tag per bundle; returns the patterns no path can reach. */
function addResources(doc: Doc, components: readonly ComponentInfo[]): Obj[] {
  let controllerTag = false
  /** Bundle paths by shape (templates unnamed): OpenAPI 3.1 forbids two templated paths that differ only by names. */
  const byShape = new Map<string, string>()
  /** Patterns no OpenAPI path can reach (see resourcePath). */
  const undocumented: Obj[] = []
  for (const c of components) {
    if (c.role !== 'model' && !c.builtin) continue
    const tag = c.builtin ? 'controller' : c.name
    if (c.builtin) controllerTag = true
    else if (!doc.tags.some((t) => t.name === tag))
      doc.tags.push({ name: tag, description: c.description || `Bundle ${c.name}.` })
    for (const pattern of c.patterns) {
      const placed = placePattern(c, tag, pattern, byShape)
      if (placed) addPattern(doc, placed)
      else undocumented.push({ bundle: c.name, pattern })
    }
  }
  if (controllerTag)
    doc.tags.push({ name: 'controller', description: "The controller's built-in resources." })
  return undocumented
}

/** The OpenAPI path of a pattern, or undefined when none can reach it. */
function placePattern(
  c: ComponentInfo,
  tag: string,
  pattern: string,
  byShape: Map<string, string>,
): PlacedPattern | undefined {
  const declared = isObject(c.data.methods) ? c.data.methods : {}
  const names = isObject(c.data.paramNames) ? c.data.paramNames : {}
  const schemas = isObject(c.data.schemas) ? c.data.schemas : {}
  const rp = resourcePath(pattern, stringList(names[pattern]) ?? [])
  if (!rp) return undefined
  let full = `${API_PREFIX}${rp.path === '/' ? '' : rp.path}`
  let params = rp.params
  const shape = full.replace(/\{[^}]*\}/g, '{}')
  const same = byShape.get(shape)
  if (same !== undefined && same !== full) {
    // `/a/+` after `/a/#`: one path, whose template names this pattern's parameters take, in order
    const taken = [...same.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] as string)
    params = params.map((p, i) => ({ ...p, name: taken[i] ?? p.name }))
    full = same
  } else byShape.set(shape, full)
  const listed = c.builtin ? BUILTIN_METHODS[c.name] : stringList(declared[pattern])
  const perMethod = isObject(schemas[pattern]) ? schemas[pattern] : {}
  return { c, tag, pattern, full, params, ignored: rp.ignored, listed, perMethod }
}

/** The operations of one placed pattern; a method another pattern documents already gets a note instead. */
function addPattern(doc: Doc, pp: PlacedPattern): void {
  const { c, pattern, full } = pp
  const methods = (pp.listed ?? BUNDLE_METHODS).map((m) => m.toLowerCase())
  const item = doc.paths[full] ?? { 'x-bundlegate-pattern': pattern }
  if (item['x-bundlegate-pattern'] !== pattern) {
    const all = (item['x-bundlegate-patterns'] as string[] | undefined) ?? [item['x-bundlegate-pattern']]
    if (!all.includes(pattern)) item['x-bundlegate-patterns'] = [...all, pattern]
  }
  for (const method of methods) {
    if (!(BUNDLE_METHODS as readonly string[]).includes(method)) continue
    const taken = item[method] as Obj | undefined
    if (taken) {
      // overlapping patterns fan out: every match takes part (wire-protocol.md §5.1 step 4)
      taken.description = `${taken.description}\n\nAlso sent to bundle \`${c.name}\` (pattern \`${pattern}\`): every matching pattern takes part.`
      continue
    }
    item[method] = bundleOperation(doc, pp, method)
  }
  doc.paths[full] = item
}

/** The operation of `method` on a placed pattern. */
function bundleOperation(doc: Doc, pp: PlacedPattern, method: string): Obj {
  const { c, pattern } = pp
  const auth = doc.input.auth
  const s = isObject(pp.perMethod[method]) ? pp.perMethod[method] : {}
  // a GET has no body (a registration from an older SDK may still send one)
  const body = method !== 'get' && isObject(s.body) ? s.body : undefined
  const response = isObject(s.response) ? s.response : undefined
  const write = method !== 'get'
  const notes = [
    c.builtin
      ? `The controller's built-in \`${c.name}\` (wire-protocol.md §4): admin tokens only over HTTP.`
      : // the bundle's description is its tag's, once: copied per operation it multiplied (issue 12 red team)
        `Served by bundle \`${c.name}\` (pattern \`${pattern}\`).`,
    auth && !c.builtin ? scopeNote(method === 'get' ? 'read' : 'readwrite') : undefined,
    pp.listed === undefined && !c.builtin
      ? 'The bundle declares no methods for this resource, so all four are listed; it may not serve every one.'
      : undefined,
    pp.ignored
      ? `The controller ignores what follows \`#\` in a pattern (\`${pp.ignored}\`, wire-protocol.md §5.1).`
      : undefined,
    'The query string, if any, is passed to the bundle as it is.',
  ]
  const operation: Obj = {
    tags: [pp.tag],
    summary: `${method.toUpperCase()} ${pattern}`,
    description: notes.filter(Boolean).join('\n\n'),
    operationId: doc.operationId(method, pp.full),
    parameters: pp.params.map((p) => ({
      name: p.name,
      in: 'path',
      required: true,
      description: p.catchAll
        ? 'One or more characters, `/` included: any number of levels (the `#` wildcard, wire-protocol.md §5.1). Never empty: `/x/#` does not match `/x` itself.'
        : 'One or more characters up to the next `/` (the `+` wildcard, wire-protocol.md §5.1).',
      schema: { type: 'string' },
    })),
    responses: {
      '200': {
        description: "The bundle's answer (its code is the status; 2xx other than 200 are possible).",
        headers: auth ? doc.limitHeaders : {},
        content: { 'application/json': { schema: response ?? {} } },
      },
      ...doc.errorRefs(
        auth ? [...RESOURCE_ERRORS, ...(write ? WRITE_ERRORS : [])] : ['400', '404', '500', '503', '504'],
      ),
      default: {
        description: 'Any other code the bundle answers; error bodies are `Error`.',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      },
    },
  }
  if (body) operation.requestBody = { required: true, content: { 'application/json': { schema: body } } }
  else if (method === 'post' || method === 'put')
    operation.requestBody = { required: false, content: { 'application/json': { schema: {} } } }
  return operation
}

function scopeNote(policy: string): string {
  switch (policy) {
    case 'admin':
      return 'Scope: admin.'
    case 'readwrite':
      return 'Scope: readwrite (or admin).'
    case 'resource':
      return 'Scope: read for GET, readwrite for other methods.'
    default:
      return 'Scope: read (any valid token).'
  }
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined
}
