/**
 * The tokens area: API tokens of the web service (http-api.md §4), the root token file and token durations (the
 * MQTT credentials of bundles live with the broker, src/broker).
 * Other areas reach it only through this file.
 * @module
 */

// secrets kept as SHA-256 with a throttled last use: the broker's credential store (src/broker) is built the same way
export { LastUseRecorder, type LastUseRecorderOptions } from './last-use-recorder.ts'
export { parseDuration } from './parse-duration.ts'
export { randomId } from './random-id.ts'
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
export { sha256 } from './sha256.ts'
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
