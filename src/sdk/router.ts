import { Ajv, type ValidateFunction } from 'ajv'
import { compileRoute, parseQuery, querySearch, type RoutePattern } from '../protocol/index.ts'
import type { EventHandler, Method, RequestHandler } from './message.ts'

/** JSON Schemas of a route: the request's `data` and the answer's `data`. */
export interface RouteSchemas {
  /**
   * What the request `data` must satisfy: checked before the handler runs, a failure answers 400. Only for the
   * route's methods that carry a body (see {@link bodyMethods}): POST and PUT, DELETE when named, never GET.
   */
  body?: object
  /** What the handler answers (documentation: published in the gateway's OpenAPI document, not checked). */
  response?: object
}

/** How a route is declared: `{ resource: '/thermo/:id', methods: ['get', 'put'], schema }`. */
export interface RouteSpec {
  /** Resource with optional `:params`, e.g. `/network/ethernet/:id`. */
  resource: string
  /** One method or several. @default every method (get, post, put, delete) */
  methods?: Method | readonly Method[]
  /**
   * JSON Schemas `{ body?, response? }` (see {@link RouteSchemas}); they are also sent with the registration, so the
   * gateway's OpenAPI document shows them. A plain JSON Schema (no `body`/`response` keys) is the `body` schema.
   * @example { body: { type: 'object', required: ['value'] }, response: { type: 'object' } }
   */
  schema?: RouteSchemas | object
}

const SCHEMA_KEYS: ReadonlySet<string> = new Set(['body', 'response'])

/** The `{ body?, response? }` of a route's `schema` option, whichever form it was given in. */
export function routeSchemas(schema: RouteSchemas | object | undefined): RouteSchemas {
  if (schema === undefined) return {}
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new TypeError(
      `Expected \`schema\` to be a JSON Schema or { body?, response? }, got \`${JSON.stringify(schema)}\` (${typeof schema})`,
    )
  }
  const keys = Object.keys(schema)
  if (keys.length === 0 || !keys.every((k) => SCHEMA_KEYS.has(k))) return { body: schema }
  const { body, response } = schema as RouteSchemas
  for (const [name, s] of [
    ['body', body],
    ['response', response],
  ] as const) {
    if (s !== undefined && (typeof s !== 'object' || s === null || Array.isArray(s))) {
      throw new TypeError(
        `Expected \`schema.${name}\` to be a JSON Schema object, got \`${JSON.stringify(s)}\` (${typeof s})`,
      )
    }
  }
  return { ...(body ? { body } : {}), ...(response ? { response } : {}) }
}

/** How an event handler is declared. */
export interface EventSpec {
  resource: string
  /** @default every method */
  methods?: Method | readonly Method[]
}

const ALL: readonly Method[] = ['get', 'post', 'put', 'delete']

interface Entry<H> {
  pattern: RoutePattern
  methods: ReadonlySet<string>
  /** The methods whose `data` `validate` checks. */
  bodyMethods: ReadonlySet<string>
  handler: H
  validate: ValidateFunction | undefined
  spec: RouteSpec | EventSpec
}

/** A match of a route for one message. */
export interface RouteMatch<H> {
  handler: H
  param: Record<string, string>
  validate: ValidateFunction | undefined
}

function methodsOf(spec: RouteSpec | EventSpec): Set<string> {
  const m =
    spec.methods === undefined ? ALL : typeof spec.methods === 'string' ? [spec.methods] : spec.methods
  const out = new Set<string>()
  for (const x of m) {
    const lower = String(x).toLowerCase()
    if (!(ALL as readonly string[]).includes(lower)) {
      throw new TypeError(
        `Expected \`methods\` to hold get, post, put or delete, got \`${String(x)}\` (${typeof x})`,
      )
    }
    out.add(lower)
  }
  if (out.size === 0) throw new TypeError('Expected `methods` to name at least one method, got `[]` (array)')
  return out
}

/**
 * The methods of a route whose request `data` its body schema checks: POST and PUT; DELETE only when the route
 * names it in `methods` (a DELETE usually has no body, so a route declared for every method does not check it);
 * never GET (a GET has no body: its `data` is `{}` over HTTP, absent over MQTT).
 */
export function bodyMethods(spec: RouteSpec): Set<string> {
  const out = new Set<string>()
  for (const m of methodsOf(spec)) {
    if (m === 'post' || m === 'put' || (m === 'delete' && spec.methods !== undefined)) out.add(m)
  }
  return out
}

/**
 * The bundle's route table (wire-protocol.md §6 item 7): every route whose method and pattern match runs.
 * Schemas are compiled once, when the route is added.
 */
export class Router {
  readonly #routes: Entry<RequestHandler>[] = []
  readonly #events: Entry<EventHandler>[] = []
  #ajv: Ajv | undefined

  addRoute(spec: RouteSpec, handler: RequestHandler): void {
    if (typeof spec.resource !== 'string' || !spec.resource.startsWith('/')) {
      throw new TypeError(
        `Expected \`resource\` to be a string starting with "/", got \`${String(spec.resource)}\` (${typeof spec.resource})`,
      )
    }
    let validate: ValidateFunction | undefined
    const { body, response } = routeSchemas(spec.schema)
    if (body !== undefined || response !== undefined)
      this.#ajv ??= new Ajv({ allErrors: true, strict: false })
    if (body !== undefined) validate = this.#ajv!.compile(body)
    // a response schema is never used to check, but a broken one is refused now rather than published
    if (response !== undefined) this.#ajv!.compile(response)
    this.#routes.push({
      pattern: compileRoute(spec.resource),
      methods: methodsOf(spec),
      bodyMethods: bodyMethods(spec),
      handler,
      validate,
      spec,
    })
  }

  addEvent(spec: EventSpec, handler: EventHandler): void {
    if (typeof spec.resource !== 'string' || !spec.resource.startsWith('/')) {
      throw new TypeError(
        `Expected \`resource\` to be a string starting with "/", got \`${String(spec.resource)}\` (${typeof spec.resource})`,
      )
    }
    this.#events.push({
      pattern: compileRoute(spec.resource),
      methods: methodsOf(spec),
      bodyMethods: new Set(),
      handler,
      validate: undefined,
      spec,
    })
  }

  /** Every request route matching `method` and `resource`, in declaration order. */
  routes(method: string, resource: string): RouteMatch<RequestHandler>[] {
    return find(this.#routes, method, resource)
  }

  /** Every event handler matching `method` and `resource`. */
  events(method: string, resource: string): RouteMatch<EventHandler>[] {
    return find(this.#events, method, resource)
  }

  /** The declared routes, for listings and checks against bundle.json. */
  specs(): { routes: RouteSpec[]; events: EventSpec[] } {
    return { routes: this.#routes.map((r) => r.spec as RouteSpec), events: this.#events.map((e) => e.spec) }
  }
}

function find<H>(entries: readonly Entry<H>[], method: string, resource: string): RouteMatch<H>[] {
  const lower = method.toLowerCase()
  const out: RouteMatch<H>[] = []
  for (const e of entries) {
    if (!e.methods.has(lower)) continue
    const param = e.pattern.match(resource)
    if (param)
      out.push({ handler: e.handler, param, validate: e.bodyMethods.has(lower) ? e.validate : undefined })
  }
  return out
}

/** The `query` object of a resource. */
export function queryOf(resource: string) {
  const search = querySearch(resource)
  return search.length === 0 ? {} : parseQuery(search)
}
