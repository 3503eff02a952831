import type { FastifyInstance } from 'fastify'
import type { ControllerCore, Outcome } from '../../controller/index.ts'
import type { GatewayMetrics } from '../../metrics/index.ts'
import { isObject, type Json, MAX_RESOURCE_CHARS } from '../../protocol/index.ts'
import { errorReply } from '../http-error.ts'
import { API_PREFIX, mapRequest } from '../map-resource.ts'
import { modelReply, outcomeReply } from '../outcome-reply.ts'
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
      const method = request.method
      if (!RESOURCE_METHODS.has(method)) {
        const r = errorReply('GW_ERR_METHOD_NOT_ALLOWED')
        return reply.code(r.status).send(r.body)
      }
      const path = request.url.slice(API_PREFIX.length).split('?')[0] ?? ''
      // [HA-11] the gateway's own paths are never forwarded (a method they do not serve lands here)
      if (GATEWAY_PREFIXES.some((p) => isUnder(path, p))) {
        const r = errorReply('GW_ERR_METHOD_NOT_ALLOWED')
        return reply.code(r.status).send(r.body)
      }
      const mapped = mapRequest(request.url, method, request.body as Json | undefined)
      if (mapped.resource.length > MAX_RESOURCE_CHARS) {
        const r = errorReply('GW_ERR_BAD_REQUEST', [`resource exceeds ${MAX_RESOURCE_CHARS} characters`])
        return reply.code(r.status).send(r.body)
      }
      const p = request.principal
      const started = performance.now()
      const outcome = await core.request({
        method: method.toLowerCase(),
        resource: mapped.resource,
        data: mapped.data,
        requestId: request.id, // docs/observability.md: the id travels to the bundle [WP-61]
        ...(p ? { caller: { token: p.tokenId, scope: p.scope } } : {}),
      })
      const seconds = (performance.now() - started) / 1000
      let r = outcomeReply(outcome, mapped.resource, debug)
      // §7: a remote gateway's answer is nested in the bundle's data.
      if (mapped.remote && outcome.kind === 'answer' && r.status < 400) {
        const inner = outcome.message.data
        if (isObject(inner) && typeof inner.code === 'number') {
          r = modelReply(inner.code, inner.data ?? {}, outcome.message.sign, debug)
        }
      }
      request.bundle = metrics
        ? metrics.bundleCall({
            resource: mapped.resource,
            method,
            outcome: outcome.kind,
            status: r.status,
            seconds,
          })
        : answeredBy(outcome)
      reply.code(r.status)
      return r.body === undefined ? reply.send() : reply.send(r.body)
    },
  })
}

/** The bundle an outcome is about: the one named by a timeout or an offline answer, else the last signer. */
function answeredBy(outcome: Outcome): string | undefined {
  if (outcome.bundle !== undefined) return outcome.bundle
  const sign = outcome.message.sign
  const last = Array.isArray(sign) ? sign[sign.length - 1] : undefined
  return typeof last === 'string' ? last : undefined
}
