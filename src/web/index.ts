/**
 * The web service: `/api/v1/*` to the controller in-process, tokens, bundles, health, push events (SSE, WebSocket).
 * @module
 */
export type { Principal, Scope, TokenVerifier } from './auth.ts'
export { buildWebService, type WebServiceDeps } from './build-web-service.ts'
export { EventHub, type EventSubscriber, type PushInput, type Replay } from './events/event-hub.ts'
export type { EventsOptions } from './events/events-options.ts'
export { PatternSet } from './events/pattern-set.ts'
export type { PushEvent } from './events/push-event.ts'
export { errorReply } from './http-error.ts'
export { API_PREFIX, mapRequest } from './map-resource.ts'
export { gatewayVersion } from './openapi/openapi-route.ts'
export { outcomeReply } from './outcome-reply.ts'
export { BucketMap } from './rate-limit/bucket-map.ts'
export type { RateLimitOptions } from './rate-limit/rate-limiter.ts'
export { CONTROLLER_PREFIX, GATEWAY_PREFIXES } from './reserved.ts'
export type { BundleView } from './routes/bundles.ts'
export type { ManagedBundleView } from './routes/managed-bundles.ts'
export type { TokenAdmin, TokenView } from './routes/tokens.ts'
