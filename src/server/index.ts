/**
 * The steps of `startGateway` (src/server.ts), in the order it runs them: the stores, the metrics, the broker, the
 * controller, the metrics listener, the file store, the web service; {@link Closers} undoes them in reverse.
 * Only src/server.ts imports this area.
 * @module
 */
export { type Close, Closers } from './closers.ts'
export { controllerOptions, GATEWAY_RESOURCES } from './controller-options.ts'
export { listenMetrics, openMetrics } from './metrics-listener.ts'
export { openManager } from './open-manager.ts'
export { type GatewayBroker, startGatewayBroker } from './start-broker.ts'
export { startGatewayController } from './start-controller.ts'
export { startGatewayFleet } from './start-fleet.ts'
export { type AuthStores, openAuthStores, openFileStore } from './stores.ts'
export { type Phase, startWebService, type WebServiceParts } from './web-service.ts'
