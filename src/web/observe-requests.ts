import type { FastifyInstance } from 'fastify'
import type { Logger } from '../logger.ts'
import type { GatewayMetrics } from '../metrics/index.ts'
import { API_PREFIX } from './map-resource.ts'
import { REQUEST_ID_HEADER } from './request-id.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The bundle a resource call went to (set by the resource route), for the access log. */
    bundle: string | undefined
  }
}

/** What {@link installObservability} needs. */
export interface ObservabilityDeps {
  /** Undefined: metrics off (config `metrics.enabled`). */
  metrics: GatewayMetrics | undefined
  /** Serve `GET /metrics` here (admin token); false when a separate listener serves it. */
  serveMetrics: boolean
  accessLog: boolean
  logger: Logger
}

/**
 * Request ids in the response header, HTTP metrics and the access log in `onResponse` (after the answer is sent:
 * nothing is serialised on the request's way), `GET /metrics` and `GET /api/v1/metrics/bundles`. Installed before
 * authentication, so a refused request carries its id too.
 */
export function installObservability(app: FastifyInstance, deps: ObservabilityDeps): void {
  app.decorateRequest('bundle', undefined)
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    done()
  })
  const { metrics } = deps
  const access = deps.accessLog ? deps.logger.child({ component: 'access' }) : undefined
  if (metrics || access) {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched'
      const seconds = reply.elapsedTime / 1000
      metrics?.httpRequest(route, request.method, reply.statusCode, seconds)
      access?.info(
        {
          reqId: request.id,
          token: request.principal?.tokenId,
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          bundle: request.bundle,
        },
        'request',
      )
      done()
    })
  }
  if (!metrics) return
  if (deps.serveMetrics) {
    app.get('/metrics', { config: { auth: 'admin' } }, async (_request, reply) => {
      reply.type(metrics.contentType)
      return metrics.render()
    })
  }
  app.get(`${API_PREFIX}/metrics/bundles`, { config: { auth: 'admin' } }, async (request) => {
    const raw = Number((request.query as Record<string, unknown>).minutes)
    const minutes = Number.isFinite(raw) ? Math.min(15, Math.max(1, Math.round(raw))) : 5
    return { minutes, bundles: metrics.windows.view(minutes) }
  })
}
