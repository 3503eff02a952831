import type { FastifyInstance } from 'fastify'
import type { BundleManagerApi } from '../manager/index.ts'
import { apiTarget } from './api-path.ts'
import { errorReply } from './http-error.ts'
import { API_PREFIX, mapRequest } from './map-resource.ts'
import { GATEWAY_PREFIXES, isUnder } from './reserved.ts'
import { RESOURCE_METHODS } from './routes/resources.ts'

/** The route every bundle resource is served by (routes/resources.ts). */
const RESOURCE_ROUTE = `${API_PREFIX}/*`

/** `Retry-After` in whole seconds (at least 1) until `at`, an ISO time. */
export function retryAfterSec(at: string, now = Date.now()): number {
  const ms = Date.parse(at) - now
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 1
}

/**
 * [HA-15] A request for a resource of a managed bundle that is not serving (stopped, backoff, broken, installed,
 * stopping) answers 503 `GW_ERR_MANAGER_BUNDLE_UNAVAILABLE` at once, naming the bundle, its state and the time of
 * its next start (`Retry-After` then), instead of a 404 or a wait for the ttl. A `preHandler` of the resource
 * route: the caller is authenticated and allowed first ([HA-4], [HA-5]), so nobody learns a state they may not see.
 */
export function installManagerUnavailable(app: FastifyInstance, manager: BundleManagerApi): void {
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== RESOURCE_ROUTE || !RESOURCE_METHODS.has(request.method)) return
    const mapped = mapRequest(apiTarget(request).resource, request.method, undefined)
    if (mapped.remote) return
    const name = mapped.resource.split('?')[0] ?? ''
    if (GATEWAY_PREFIXES.some((p) => isUnder(name, p))) return
    const why = manager.unavailable(name)
    if (!why) return
    const next = why.nextRetryAt ? `; next start at ${why.nextRetryAt}` : ''
    const r = errorReply('GW_ERR_MANAGER_BUNDLE_UNAVAILABLE', [why.name, why.state, next], {
      bundle: why.name,
      state: why.state,
      nextRetryAt: why.nextRetryAt,
    })
    if (why.nextRetryAt) reply.header('retry-after', String(retryAfterSec(why.nextRetryAt)))
    request.bundle = why.name
    return reply.code(r.status).send(r.body)
  })
}
