import type { EventHandler, RequestHandler } from './message.ts'
import type { EventSpec, RouteSpec } from './router.ts'

/** Where decorated methods are collected on each instance until the bundle starts. */
export const kDeclared: unique symbol = Symbol('bundlegate.declared')

/** One decorated method, bound to its instance. */
export type Declared =
  | { kind: 'route'; spec: RouteSpec; handler: RequestHandler }
  | { kind: 'event'; spec: EventSpec; handler: EventHandler }

type Holder = { [kDeclared]?: Declared[] }

/**
 * Declares a request handler method (like the Python SDK's `@Route`). `schema: { body, response }` checks the request
 * `data` (400 before the method runs) and documents both in the gateway's OpenAPI document.
 *
 * @example
 * class Example extends Bundle {
 *   @route({ resource: '/example', methods: 'get', schema: { response: { type: 'object' } } })
 *   get() { return this.model.data }
 * }
 */
export function route(spec: RouteSpec) {
  return <This, H extends RequestHandler>(method: H, context: ClassMethodDecoratorContext<This, H>): H => {
    if (context.kind !== 'method') throw new TypeError('@route decorates methods')
    context.addInitializer(function (this: This) {
      declare(this as unknown as Holder, {
        kind: 'route',
        spec,
        handler: method.bind(this) as RequestHandler,
      })
    })
    return method
  }
}

/**
 * Declares an event handler method: it receives EVENTs, and the final answers of other requests, for resources this
 * bundle is a view of (bundle.json resources with role `view`).
 *
 * @example
 * class Watcher extends Bundle {
 *   @event({ resource: '/network/interfaces/:name', methods: 'put' })
 *   changed(message: EventMessage) { this.log.info({ data: message.data }, 'interface changed') }
 * }
 */
export function event(spec: EventSpec) {
  return <This, H extends EventHandler>(method: H, context: ClassMethodDecoratorContext<This, H>): H => {
    if (context.kind !== 'method') throw new TypeError('@event decorates methods')
    context.addInitializer(function (this: This) {
      declare(this as unknown as Holder, { kind: 'event', spec, handler: method.bind(this) as EventHandler })
    })
    return method
  }
}

function declare(holder: Holder, entry: Declared): void {
  const list = holder[kDeclared] ?? []
  list.push(entry)
  holder[kDeclared] = list
}
