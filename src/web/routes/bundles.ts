import type { FastifyInstance } from 'fastify'
import type { ComponentInfo, ControllerCore } from '../../controller/index.ts'
import { isObject } from '../../protocol/index.ts'
import { API_PREFIX } from '../map-resource.ts'

/** One registered component, as `GET /api/v1/bundles` lists it ([HA-11]). */
export interface BundleView {
  name: string
  role: string
  description: string
  /** Registered patterns; `methods` when the bundle declared them (our SDK does), else null (unknown). */
  resources: Array<{ resource: string; methods: string[] | null }>
  ttl: number
  online: boolean
  registeredAt: string
  hook: string[]
  /** Requests routed to it since it registered; those whose answer was an error (400 or more); the latest one. */
  stats: { requests: number; errors: number; lastError: { at: string; code: number; message: string } | null }
}

/** One component as `GET /api/v1/bundles` lists it (also the data of the `/bundles/<name>` push events). */
export function bundleView(c: ComponentInfo): BundleView {
  const declared = isObject(c.data.methods) ? c.data.methods : {}
  return {
    name: c.name,
    role: c.role,
    description: c.description,
    resources: c.patterns.map((resource) => {
      const m = declared[resource]
      return {
        resource,
        methods: Array.isArray(m) ? m.filter((x): x is string => typeof x === 'string') : null,
      }
    }),
    ttl: c.ttlSec,
    online: c.online,
    registeredAt: new Date(c.registeredAt).toISOString(),
    hook: [...c.hooks],
    stats: {
      requests: c.stats.requests,
      errors: c.stats.errors,
      lastError: c.stats.lastError
        ? { ...c.stats.lastError, at: new Date(c.stats.lastError.at).toISOString() }
        : null,
    },
  }
}

/** `GET /api/v1/bundles`: every registered component but the controller's built-ins (read scope). */
export function bundleRoutes(app: FastifyInstance, core: ControllerCore): void {
  app.get(
    `${API_PREFIX}/bundles`,
    { config: { auth: 'read' } },
    async (): Promise<BundleView[]> =>
      core
        .components()
        .filter((c) => !c.builtin)
        .map(bundleView),
  )
}
