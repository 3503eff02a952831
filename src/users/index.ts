/**
 * The users area: console users (scrypt passwords in `<dataDir>/users.db`), their sessions (in memory) and the
 * login throttle. Other areas reach it only through this file.
 * @module
 */

export { type ConsoleUsers, INITIAL_PASSWORD_MESSAGE, openConsoleUsers } from './console-users.ts'
export { type AttemptResult, LoginThrottle, type LoginThrottleOptions } from './login-throttle.ts'
export { hashPassword, SCRYPT_PARAMS, type ScryptParams, verifyPassword } from './password-hash.ts'
export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordProblem } from './password-policy.ts'
export { type Session, SessionStore, type SessionStoreOptions, type UserCheck } from './session-store.ts'
export { TrustedDevices, type TrustedDevicesOptions } from './trusted-devices.ts'
export {
  ADMIN_USERNAME,
  type EnsuredAdmin,
  USER_SCHEMA_VERSION,
  USERNAME_RULE,
  type UserInfo,
  UserStore,
} from './user-store.ts'
