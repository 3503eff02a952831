/**
 * The bundle manager over HTTP (issue 15, docs/manager.md "HTTP API and CLI"): `GET /api/v1/bundles` with the
 * manager's fields, install (a streamed gzip'ed tar), start / stop / restart / enable / disable / rollback,
 * uninstall, and the logs. Registered only when the gateway runs a manager; without one `GET /api/v1/bundles` is
 * the plain list of routes/bundles.ts.
 * @module
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { ComponentInfo, ControllerCore } from '../../controller/index.ts'
import type { BundleManagerApi, ManagedInfo } from '../../manager/index.ts'
import { API_PREFIX } from '../map-resource.ts'
import { type BundleView, bundleView } from './bundles.ts'
import { installUpload } from './managed-install.ts'
import { type LogRouteOptions, logRoutes } from './managed-logs.ts'
import { nameOf, notInstalled } from './managed-not-found.ts'

/**
 * One item of `GET /api/v1/bundles` when the gateway runs a manager: a registered component as {@link BundleView}
 * with `managed` when the manager installed it; an installed bundle that is not registered (stopped, starting,
 * broken…) with `online` false, `registeredAt` null, no resources, ttl 0, zero stats, `role` and `description`
 * empty, and `managed`.
 */
export type ManagedBundleView = Omit<BundleView, 'registeredAt'> & {
  registeredAt: string | null
  managed?: ManagedInfo
}

/** What the routes are built from. */
export interface ManagedRouteDeps {
  core: ControllerCore
  manager: BundleManagerApi
  /** `manager.uploadMaxBytes`: the largest tarball (compressed) `POST /api/v1/bundles` accepts. */
  uploadMaxBytes: number
  /** Limits of the log follow streams. */
  logs?: Partial<LogRouteOptions>
}

/** The control verbs of `POST /api/v1/bundles/<name>/<verb>` and what each calls. */
const VERBS: Readonly<Record<string, (m: BundleManagerApi, name: string) => Promise<ManagedInfo>>> = {
  start: (m, n) => m.start(n),
  stop: (m, n) => m.stop(n),
  restart: (m, n) => m.restart(n),
  enable: (m, n) => m.setEnabled(n, true),
  disable: (m, n) => m.setEnabled(n, false),
  rollback: (m, n) => m.rollback(n),
}

/** A managed bundle that is not registered right now. */
function unregisteredView(managed: ManagedInfo): ManagedBundleView {
  return {
    name: managed.name,
    role: '',
    description: '',
    resources: [],
    ttl: 0,
    online: false,
    registeredAt: null,
    hook: [],
    stats: { requests: 0, errors: 0, lastError: null },
    managed,
  }
}

/** The item of one name: the registered component (with `managed` when installed), else the installed bundle. */
export function managedBundleView(
  component: ComponentInfo | undefined,
  managed: ManagedInfo | undefined,
): ManagedBundleView | undefined {
  if (component) return managed ? { ...bundleView(component), managed } : bundleView(component)
  return managed ? unregisteredView(managed) : undefined
}

/** Every registered component (as today, in the controller's order), then the installed ones not registered. */
export function listManagedBundles(core: ControllerCore, manager: BundleManagerApi): ManagedBundleView[] {
  const installed = new Map(manager.list().map((m) => [m.name, m]))
  const out: ManagedBundleView[] = []
  for (const c of core.components()) {
    if (c.builtin) continue
    const v = managedBundleView(c, installed.get(c.name))
    if (v) out.push(v)
    installed.delete(c.name)
  }
  for (const m of [...installed.values()].sort((a, b) => (a.name < b.name ? -1 : 1)))
    out.push(unregisteredView(m))
  return out
}

function componentNamed(core: ControllerCore, name: string): ComponentInfo | undefined {
  return core.components().find((c) => !c.builtin && c.name === name)
}

/**
 * Registers the routes in their own scope, where `application/gzip` bodies are handed over as the raw stream
 * (the JSON parser of the rest of the web service stays as it is).
 */
export function managedBundleRoutes(app: FastifyInstance, deps: ManagedRouteDeps): void {
  const { core, manager } = deps
  const scoped: FastifyPluginAsync = async (scope) => {
    // the body of an install stays a stream; the handler checks the type and counts the bytes
    scope.addContentTypeParser(/^application\/(x-)?gzip\s*(;.*)?$/i, (_request, payload, done) =>
      done(null, payload),
    )
    // any other type reaches the handlers unread: an install answers 415, the control verbs take no body
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined))
    const read = { config: { auth: 'read' as const } }
    const admin = { config: { auth: 'admin' as const } }
    scope.get(`${API_PREFIX}/bundles`, read, async () => listManagedBundles(core, manager))
    scope.get(`${API_PREFIX}/bundles/:name`, read, async (request, reply) => {
      const name = nameOf(request)
      return managedBundleView(componentNamed(core, name), manager.get(name)) ?? notInstalled(reply, name)
    })
    scope.post(`${API_PREFIX}/bundles`, admin, (request, reply) =>
      installUpload(request, reply, manager, deps.uploadMaxBytes, (m) =>
        managedBundleView(componentNamed(core, m.name), m),
      ),
    )
    for (const [verb, act] of Object.entries(VERBS)) {
      scope.post(`${API_PREFIX}/bundles/:name/${verb}`, admin, async (request, reply) => {
        const name = nameOf(request)
        if (!manager.get(name)) return notInstalled(reply, name)
        const info = await act(manager, name)
        return managedBundleView(componentNamed(core, name), info)
      })
    }
    scope.delete(`${API_PREFIX}/bundles/:name`, admin, async (request, reply) => {
      const name = nameOf(request)
      if (!manager.get(name)) return notInstalled(reply, name)
      const purge = (request.query as Record<string, unknown>).purge === 'true'
      await manager.uninstall(name, { purge })
      return reply.code(204).send()
    })
    logRoutes(scope, manager, deps.logs)
  }
  void app.register(scoped)
}
