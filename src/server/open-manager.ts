/**
 * The bundle manager (docs/manager.md): opened after the file store, so that it closes (stopping its bundles in
 * reverse start order) after the web service and before the files, the controller and the broker. Its bundles are
 * started by startGateway once the web service listens.
 * @module
 */
import type { Config } from '../config/index.ts'
import type { Controller } from '../controller/index.ts'
import type { Logger } from '../logger.ts'
import { BundleManager } from '../manager/index.ts'
import type { Closers } from './closers.ts'
import type { GatewayBroker } from './start-broker.ts'
import type { AuthStores } from './stores.ts'

/** Opens the record of installed bundles (`<data.dir>/manager.json`); starts nothing yet. */
export async function openManager(
  cfg: Readonly<Config>,
  controller: Controller,
  mqtt: GatewayBroker,
  auth: AuthStores,
  logger: Logger,
  closers: Closers,
): Promise<BundleManager> {
  const manager = await BundleManager.open({
    config: cfg,
    core: controller.core,
    brokerUrl: mqtt.brokerUrl,
    tokens: auth.tokens,
    brokerCredentials: mqtt.brokerCredentials,
    logger,
  })
  closers.add(() => manager.close())
  return manager
}
