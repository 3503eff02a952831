/**
 * The controller's options from the configuration: its mode, liveness, registration bounds, the resources the web
 * service keeps for itself, and the metrics observer.
 * @module
 */
import type { Config } from '../config/index.ts'
import type { ControllerCoreOptions, RegistrationLimits, ReservedPattern } from '../controller/index.ts'
import type { Logger } from '../logger.ts'
import type { GatewayMetrics } from '../metrics/index.ts'
import { GATEWAY_PREFIXES } from '../web/index.ts'

/** Resources the web service serves itself: no bundle may register them or anything below them ([HA-11]). */
export const GATEWAY_RESOURCES: readonly ReservedPattern[] = GATEWAY_PREFIXES.map((prefix) => ({
  prefix,
  owner: 'gateway',
}))

/** The registration bounds of `controller.*` (docs/config.md). */
function registrationLimits(c: Config['controller']): RegistrationLimits {
  return {
    maxComponentsPerClient: c.maxComponentsPerClient,
    maxComponents: c.maxComponents,
    maxResourcesPerComponent: c.maxResourcesPerComponent,
    maxResources: c.maxResources,
    registrationsPerSec: c.registrationsPerSec,
    registrationBurst: c.registrationBurst,
  }
}

/** The controller's options; `extra` (tests: a fake clock) goes last. The broker step adds its guards. */
export function controllerOptions(
  cfg: Readonly<Config>,
  logger: Logger,
  metrics: GatewayMetrics | undefined,
  extra: Pick<ControllerCoreOptions, 'clock'> | undefined,
): ControllerCoreOptions {
  return {
    mode: cfg.controller.mode,
    liveness: cfg.controller.liveness,
    localId: cfg.controller.localId || undefined,
    logger,
    // with a fleet uplink, `/remote` is the fleet built-in's (docs/fleet.md)
    reserved: cfg.fleet.url
      ? [...GATEWAY_RESOURCES, { prefix: '/remote', owner: 'fleet' }]
      : GATEWAY_RESOURCES,
    limits: registrationLimits(cfg.controller),
    ...(metrics ? { observer: metrics.observer } : {}),
    jsonDepth: cfg.limits.jsonDepth,
    ...extra,
  }
}
