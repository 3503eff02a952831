import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import type { ControllerCore } from '../../controller/index.ts'
import { API_PREFIX } from '../map-resource.ts'
import { buildOpenApi } from './build-openapi.ts'
import type { RecordedRoute } from './route-recorder.ts'

let version: string | undefined

/** The gateway's version, from its package.json (same relative place under src/ and dist/). */
export function gatewayVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
        version?: unknown
      }
      version = typeof pkg.version === 'string' ? pkg.version : '0.0.0'
    } catch {
      version = '0.0.0'
    }
  }
  return version
}

/**
 * `GET /api/v1/openapi.json` (read scope, [HA-11]): the OpenAPI 3.1 document, serialized once and kept until a
 * component registers or deregisters (`core.onChange`), so fetching it costs a string send.
 */
export function openApiRoute(
  app: FastifyInstance,
  core: ControllerCore,
  routes: readonly RecordedRoute[],
  options: { rateLimited: boolean; auth: boolean },
): void {
  let cached: string | undefined
  let generation = 0
  const off = core.onChange((event) => {
    if (event !== 'offline') cached = undefined
  })
  app.addHook('onClose', async () => {
    off()
  })
  app.get(`${API_PREFIX}/openapi.json`, { config: { auth: 'read' } }, async (_request, reply) => {
    if (cached === undefined) {
      generation++
      cached = JSON.stringify(
        buildOpenApi({
          components: core.components(),
          routes,
          version: gatewayVersion(),
          generation,
          ...options,
        }),
      )
    }
    return reply.type('application/json; charset=utf-8').send(cached)
  })
}
