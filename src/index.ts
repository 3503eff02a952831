/**
 * Bundlegate SDK: what bundle authors import (`import { Bundle, route } from 'bundlegate'`).
 * @module
 */

export { createError, ERRORS, type ErrorCode, GatewayError } from './errors.ts'
export type { Caller, Envelope, Json, JsonObject, Query } from './protocol/index.ts'
export {
  type Answer,
  Bundle,
  BundleError,
  BundleFiles,
  type BundleOptions,
  brokerUrlFromEnv,
  Collection,
  type CollectionOptions,
  ConfigStore,
  type ConfigStoreOptions,
  type ConfigStoreStatus,
  createBundle,
  type EventHandler,
  type EventMessage,
  type EventSpec,
  event,
  FunctionalBundle,
  type FunctionalRouteOptions,
  type IncomingFile,
  type Item,
  loadManifest,
  type Manifest,
  type ManifestResource,
  type Method,
  type Publish,
  type PublishOptions,
  type PutOptions,
  type RequestHandler,
  type RequestMessage,
  type Respond,
  type ResponseMessage,
  type RouteSpec,
  route,
  type UploadTarget,
  validateManifest,
} from './sdk/index.ts'
