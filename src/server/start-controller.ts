/**
 * The gateway's controller, started on the broker step's transport; with the embedded broker's authentication,
 * its guards (who may register what, reply where) and the revocation hook are wired both ways.
 * @module
 */
import { type Controller, type ControllerCoreOptions, startController } from '../controller/index.ts'
import type { GatewayMetrics } from '../metrics/index.ts'
import type { Closers } from './closers.ts'
import type { GatewayBroker } from './start-broker.ts'

/** Starts the controller; `coreOptions` gets the broker's guards first. */
export async function startGatewayController(
  mqtt: GatewayBroker,
  coreOptions: ControllerCoreOptions,
  metrics: GatewayMetrics | undefined,
  closers: Closers,
): Promise<Controller> {
  const auth = mqtt.broker?.auth
  if (auth) {
    coreOptions.registrationGuard = (name, clientId, verb) => auth.registrationRefusal(name, clientId, verb)
    coreOptions.componentGuard = (name, clientId) => auth.actsFor(name, clientId)
    coreOptions.replyTunnelGuard = (tunnel, clientId) => auth.mayReplyTo(tunnel, clientId)
  }
  if (mqtt.broker) metrics?.bindBroker(mqtt.broker.aedes)
  const controller = await startController(mqtt.transport, coreOptions)
  auth?.bindController(controller.core)
  closers.add(() => controller.close())
  metrics?.bindController(controller.core)
  return controller
}
