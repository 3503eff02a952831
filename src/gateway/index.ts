/**
 * The web service: `/api/v1/*` to the controller in-process, tokens, bundles, health.
 * @module
 */
export type { Principal, Scope, TokenVerifier } from './auth.ts'
export { buildGateway, type GatewayDeps } from './build-gateway.ts'
export { API_PREFIX } from './map-resource.ts'
export { CONTROLLER_PREFIX, GATEWAY_PREFIXES } from './reserved.ts'
export type { BundleView } from './routes/bundles.ts'
export type { TokenAdmin, TokenView } from './routes/tokens.ts'
