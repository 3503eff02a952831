import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ControllerCore } from '../../controller/index.ts'
import type { GatewayMetrics } from '../../metrics/index.ts'
import { type Json, MAX_RESOURCE_CHARS } from '../../protocol/index.ts'
import { apiTarget } from '../api-path.ts'
import { sendError, sendReply } from '../http-error.ts'
import { API_PREFIX, type MappedRequest, mapRequest } from '../map-resource.ts'
import { answeredBy, outcomeReply, remoteReply } from '../outcome-reply.ts'
import { GATEWAY_PREFIXES, isUnder } from '../reserved.ts'

/** The verbs a bundle resource serves; anything else is 405 ([WP-49], §8.5). */
export const RESOURCE_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'PUT', 'DELETE'])

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const

/**
 * `/api/v1/<path>` → the controller, in-process, as a plain request [WP-51]: the answer's code is the status and
 * its data the body; the request carries `caller` = {token id, scope} [WP-60].
 */
export function resourceRoutes(
  app: FastifyInstance,
  core: ControllerCore,
  debug: boolean,
  metrics?: GatewayMetrics,
): void {
  app.route({
    method: [...ALL_METHODS],
    url: `${API_PREFIX}/*`,
    config: { auth: 'resource' },
    handler: async (request, reply) => {
      const mapped = forwardable(request, reply)
      if (!mapped) return reply
      const p = request.principal
      const started = performance.now()
      const outcome = await core.request({
        method: request.method.toLowerCase(),
        resource: mapped.resource,
        data: mapped.data,
        requestId: request.id, // docs/observability.md: the id travels to the bundle [WP-61]
        ...(p ? { caller: { token: p.tokenId, scope: p.scope } } : {}),
      })
      const seconds = (performance.now() - started) / 1000
      let r = outcomeReply(outcome, mapped.resource, debug)
      if (mapped.remote) r = remoteReply(outcome, r, debug) // §7
      request.bundle = metrics
        ? metrics.bundleCall({
            resource: mapped.resource,
            method: request.method,
            outcome: outcome.kind,
            status: r.status,
            seconds,
          })
        : answeredBy(outcome)
      return sendReply(reply, r)
    },
  })
}

/**
 * The request as the controller gets it, or undefined when it was refused here: a verb no resource serves, a path
 * the gateway serves itself [HA-11] (a method it does not serve lands here), a resource over 1023 characters.
 */
function forwardable(request: FastifyRequest, reply: FastifyReply): MappedRequest | undefined {
  const target = apiTarget(request)
  if (!RESOURCE_METHODS.has(request.method) || GATEWAY_PREFIXES.some((p) => isUnder(target.path, p))) {
    sendError(reply, 'GW_ERR_METHOD_NOT_ALLOWED')
    return undefined
  }
  const mapped = mapRequest(target.resource, request.method, request.body as Json | undefined)
  if (mapped.resource.length > MAX_RESOURCE_CHARS) {
    sendError(reply, 'GW_ERR_BAD_REQUEST', [`resource exceeds ${MAX_RESOURCE_CHARS} characters`])
    return undefined
  }
  return mapped
}
