/**
 * The SDK for bundle authors.
 * @module
 */
export { Bundle, type BundleOptions } from './bundle.ts'
export { BundleError } from './bundle-error.ts'
export { Collection, type CollectionOptions, type Item } from './collection.ts'
export { ConfigStore, type ConfigStoreOptions, type ConfigStoreStatus } from './config-store.ts'
export { brokerUrlFromEnv, debugFromEnv } from './env.ts'
export {
  BundleFiles,
  type IncomingFile,
  type PutOptions,
  type UploadTarget,
} from './files.ts'
export { createBundle, FunctionalBundle, type FunctionalRouteOptions } from './functional-bundle.ts'
export { loadManifest, type Manifest, type ManifestResource, validateManifest } from './manifest.ts'
export type {
  Answer,
  EventHandler,
  EventMessage,
  Method,
  RequestHandler,
  RequestMessage,
  Respond,
  ResponseMessage,
} from './message.ts'
export { deriveAllProfiles, deriveProfiles, type RegistrationProfile } from './profiles.ts'
export type { Publish, PublishOptions } from './publisher.ts'
export { event, route } from './route.ts'
export type { EventSpec, RouteSpec } from './router.ts'
