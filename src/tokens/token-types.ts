/**
 * The public shapes of the token store ([HA-6], [HA-7]): a token as the API shows it, the create options, the
 * verify answer, and the limits of secrets and lifetimes.
 * @module
 */
import type { Logger } from '../logger.ts'

/** What a token may do (http-api.md §3). `admin` belongs to the root token only. */
export type TokenScope = 'read' | 'readwrite' | 'admin'

/** A token as the API shows it: never its secret, never its hash. Times are ISO 8601 UTC. [HA-7] */
export interface TokenInfo {
  /** Public, short, stable id: `tk_` and 10 lowercase base32 characters. */
  id: string
  /** What the token is for, as given at creation (trimmed). */
  description: string
  /** What the token may do. */
  scope: TokenScope
  /** When the token was created. */
  createdAt: string
  /** When the token was last accepted by {@link TokenStore.verify}, to within 60 s; `null` if never. */
  lastUsedAt: string | null
  /** When the token stops being accepted; `null` for never. */
  expiresAt: string | null
  /** When the token was revoked; `null` while it is not. */
  revokedAt: string | null
  /** Whether this is the root token of the token file (see root-token.ts). */
  root: boolean
}

/** Options of {@link TokenStore.open}. */
export interface TokenStoreOptions {
  /** pino logger; a child `{ component: 'tokens' }` is used. @default silentLogger() */
  logger?: Logger
  /** The clock, in ms since the epoch: creation, expiry and last-used times. @default Date.now */
  now?: () => number
}

/** What {@link TokenStore.create} takes. */
export interface CreateTokenOptions {
  /**
   * What the token is for: a string of 1 to 200 characters once trimmed.
   * @example 'Grafana dashboard'
   */
  description: string
  /**
   * What the token may do; `admin` only together with `root: true`.
   * @example 'read'
   */
  scope: TokenScope
  /**
   * Lifetime in seconds, a positive integer of at most {@link MAX_EXPIRES_IN_SEC}; no expiry when absent.
   * @default undefined (never expires)
   * @example 2_592_000
   */
  expiresInSec?: number
  /**
   * Marks the root token of the token file; only a root token may have scope `admin`.
   * @default false
   * @example true
   */
  root?: boolean
}

/** A new token and its secret; the secret is not kept anywhere and cannot be shown again. */
export interface CreatedToken {
  token: TokenInfo
  /** `bgt_` + base64url of 32 random bytes. */
  secret: string
}

/** Why {@link TokenStore.verify} refused a secret. */
export type VerifyFailure = 'malformed' | 'unknown' | 'revoked' | 'expired'

/** The answer of {@link TokenStore.verify}. */
export type VerifyResult = { ok: true; token: TokenInfo } | { ok: false; reason: VerifyFailure }

/** The prefix that makes a Bundlegate secret recognisable. [HA-6] */
export const TOKEN_SECRET_PREFIX = 'bgt_'
/** Random bytes in a secret: 256 bits. [HA-6] */
export const TOKEN_SECRET_BYTES = 32
/** The longest lifetime a token may be given: 100 years of 365 days. */
export const MAX_EXPIRES_IN_SEC = 100 * 365 * 24 * 60 * 60
/** `lastUsedAt` is written at most once per this many ms per token, so requests do not cause writes. */
export const LAST_USED_RESOLUTION_MS = 60_000
/** The schema version this code writes (`PRAGMA user_version`). */
export const TOKEN_SCHEMA_VERSION = 1
