import { Bundle, type BundleOptions } from './bundle.ts'
import type { Method, RequestHandler } from './message.ts'
import type { RouteSchemas } from './router.ts'

/** Options of a functional route. */
export interface FunctionalRouteOptions {
  /**
   * JSON Schemas `{ body?, response? }`: `body` is what the request `data` must satisfy (400 otherwise), `response`
   * documents the answer in the gateway's OpenAPI document. A plain JSON Schema is the `body` schema.
   */
  schema?: RouteSchemas | object
}

/**
 * A bundle for plain JavaScript: routes are added with `bundle.get('/x', handler)` and friends, no class needed.
 *
 * @example
 * const bundle = createBundle({ dir: import.meta.dirname })
 * bundle.get('/hello/:name', (message) => ({ hello: message.param.name }))
 * await bundle.start()
 */
export class FunctionalBundle extends Bundle {
  get(resource: string, handler: RequestHandler, options: FunctionalRouteOptions = {}): this {
    return this.#add('get', resource, handler, options)
  }

  post(resource: string, handler: RequestHandler, options: FunctionalRouteOptions = {}): this {
    return this.#add('post', resource, handler, options)
  }

  put(resource: string, handler: RequestHandler, options: FunctionalRouteOptions = {}): this {
    return this.#add('put', resource, handler, options)
  }

  delete(resource: string, handler: RequestHandler, options: FunctionalRouteOptions = {}): this {
    return this.#add('delete', resource, handler, options)
  }

  #add(method: Method, resource: string, handler: RequestHandler, options: FunctionalRouteOptions): this {
    return this.route(
      options.schema ? { resource, methods: method, schema: options.schema } : { resource, methods: method },
      handler,
    )
  }
}

/** Creates a {@link FunctionalBundle}. */
export function createBundle(options: BundleOptions = {}): FunctionalBundle {
  return new FunctionalBundle(options)
}
