import type { FastifyInstance } from 'fastify'
import type { Logger } from '../logger.ts'
import type { EventHub } from './events/event-hub.ts'
import { forwardManagerEvents } from './events/manager-events.ts'
import { installManagerUnavailable } from './manager-unavailable.ts'
import { type ManagedRouteDeps, managedBundleRoutes } from './routes/managed-bundles.ts'

/**
 * The bundle manager in the web service (docs/manager.md "HTTP API and CLI"): its routes under `/api/v1/bundles`,
 * the 503 of a bundle that is not serving ([HA-15]), and its state changes on the push channel. Called instead of
 * `bundleRoutes` when the gateway runs a manager, before the resource route is added.
 */
export function installManagerWeb(
  app: FastifyInstance,
  deps: ManagedRouteDeps,
  hub: EventHub,
  logger: Logger,
): void {
  managedBundleRoutes(app, deps)
  installManagerUnavailable(app, deps.manager)
  const stop = forwardManagerEvents(deps.manager, hub, logger.child({ component: 'events' }))
  app.addHook('preClose', (done) => {
    stop()
    done()
  })
}
