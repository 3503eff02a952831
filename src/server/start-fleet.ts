/**
 * The fleet uplink (docs/fleet.md), when `fleet.url` is set: started after the controller, closed before it.
 * @module
 */
import type { Config } from '../config/index.ts'
import type { Controller } from '../controller/index.ts'
import { type Fleet, startFleet } from '../fleet/index.ts'
import type { Logger } from '../logger.ts'
import { gatewayVersion } from '../web/index.ts'
import type { Closers } from './closers.ts'

/** Starts the uplink (it never delays the start: it connects in the background); undefined without `fleet.url`. */
export function startGatewayFleet(
  cfg: Readonly<Config>,
  controller: Controller,
  logger: Logger,
  closers: Closers,
): Fleet | undefined {
  if (!cfg.fleet.url) return undefined
  const fleet = startFleet({
    config: cfg.fleet,
    core: controller.core,
    logger,
    version: gatewayVersion(),
    jsonDepth: cfg.limits.jsonDepth,
  })
  closers.add(() => fleet.close())
  return fleet
}
