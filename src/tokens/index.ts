/**
 * The tokens area: API tokens of the web service (http-api.md §4), the root token file, token durations, and the
 * MQTT credentials of bundles for the embedded broker.
 * Other areas reach it only through this file.
 * @module
 */

export {
  BROKER_CREDENTIALS_FILE,
  BROKER_PASSWORD_PREFIX,
  type BrokerCredentialCheck,
  type BrokerCredentialInfo,
  BrokerCredentialStore,
  type BrokerCredentialStoreOptions,
  BUNDLE_NAME_RULE,
  type CreatedBrokerCredential,
} from './broker-credential-store.ts'
export { parseDuration } from './parse-duration.ts'
export {
  adoptRootToken,
  defaultTokenFilePath,
  type EnsuredRootToken,
  ETC_TOKEN_FILE,
  ensureRootToken,
  type RootTokenOptions,
  type RotatedRootToken,
  rotateRootToken,
  TOKEN_FILE_NAME,
} from './root-token.ts'
export {
  type CreatedToken,
  type CreateTokenOptions,
  LAST_USED_RESOLUTION_MS,
  MAX_EXPIRES_IN_SEC,
  TOKEN_SCHEMA_VERSION,
  TOKEN_SECRET_BYTES,
  TOKEN_SECRET_PREFIX,
  type TokenInfo,
  type TokenScope,
  TokenStore,
  type TokenStoreOptions,
  type VerifyFailure,
  type VerifyResult,
} from './token-store.ts'
