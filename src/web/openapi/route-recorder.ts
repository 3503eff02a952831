import type { FastifyInstance } from 'fastify'

/** A route the web service registered, as the OpenAPI document needs it. */
export interface RecordedRoute {
  method: string
  /** As registered: `/api/v1/tokens/:id`. */
  url: string
  /** The route's auth policy (`none`, `read`, `resource`, `admin`). */
  auth: string
  /** Whether the token may also come as `?mx-api-token=` (event stream, WebSocket). */
  queryToken: boolean
}

/**
 * Records every route registered on `app` from now on (fastify's `onRoute` hook, which also sees routes added inside
 * plugins), so the OpenAPI document lists exactly what is served. Call it before any route is added.
 */
export function recordRoutes(app: FastifyInstance): readonly RecordedRoute[] {
  const routes: RecordedRoute[] = []
  app.addHook('onRoute', (options) => {
    const config = (options.config ?? {}) as { auth?: unknown; queryToken?: unknown }
    for (const method of Array.isArray(options.method) ? options.method : [options.method]) {
      routes.push({
        method: String(method).toUpperCase(),
        url: options.url,
        auth: typeof config.auth === 'string' ? config.auth : 'none',
        queryToken: config.queryToken === true,
      })
    }
  })
  return routes
}
