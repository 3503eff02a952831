/**
 * API tokens of the web service ([HA-6], [HA-7]), kept in SQLite at `<dataDir>/tokens.db`. Only the SHA-256 of each
 * secret is stored; the secret itself is returned once, by {@link TokenStore.create}.
 * @module
 */

import { randomBytes, timingSafeEqual } from 'node:crypto'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { SqliteFile } from '../sqlite-file.ts'
import { LastUseRecorder } from './last-use-recorder.ts'
import { randomId } from './random-id.ts'
import { sha256 } from './sha256.ts'
import { prepareStatements, type Row, SCHEMA_V1, type Statements, toInfo } from './token-schema.ts'
import {
  type CreatedToken,
  type CreateTokenOptions,
  LAST_USED_RESOLUTION_MS,
  TOKEN_SCHEMA_VERSION,
  TOKEN_SECRET_BYTES,
  TOKEN_SECRET_PREFIX,
  type TokenInfo,
  type TokenStoreOptions,
  type VerifyResult,
} from './token-types.ts'
import { type Fields, validateCreate } from './validate-create.ts'

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
  type TokenStoreOptions,
  type VerifyFailure,
  type VerifyResult,
} from './token-types.ts'

const SECRET_PATTERN = /^bgt_[A-Za-z0-9_-]{43}$/
const ROOT_DESCRIPTION = 'root token'

/**
 * The token database. Every call is synchronous (better-sqlite3). Accepted tokens are cached, but the cache is
 * dropped whenever another process commits to the file (the CLI while the gateway runs), so revocations count at
 * once (see `verify`). The file is in WAL mode with `synchronous=FULL` and a 5 s busy timeout.
 *
 * @example
 * const store = TokenStore.open('/var/lib/bundlegate')
 * const { token, secret } = store.create({ description: 'Grafana', scope: 'read', expiresInSec: 86_400 })
 * store.verify(secret) // { ok: true, token }
 */
export class TokenStore {
  /** Path of the database file, `<dataDir>/tokens.db`. */
  readonly path: string
  readonly #file: SqliteFile
  readonly #sql: Statements
  readonly #lastUse: LastUseRecorder
  readonly #now: () => number
  readonly #log: Logger
  /**
   * Accepted tokens by hash, so a request costs no SELECT. Valid while SQLite's `data_version` is unchanged (it
   * moves when ANOTHER connection commits: the CLI revoking a token while the gateway runs) and cleared by our own
   * revocations. Unknown secrets are never cached.
   */
  readonly #cache = new Map<string, Row>()
  #cacheVersion = -1

  private constructor(file: SqliteFile, now: () => number, log: Logger) {
    const db = file.db
    this.path = file.path
    this.#file = file
    this.#now = now
    this.#log = log
    this.#sql = prepareStatements(db)
    this.#lastUse = new LastUseRecorder({
      touch: db.prepare(
        'UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)',
      ),
      resolutionMs: LAST_USED_RESOLUTION_MS,
      log,
      failureMessage: 'cannot record the last use of a token',
      // A full or read-only disk: the token is still accepted; retry at most once per resolution period, so a
      // busy gateway does not attempt (and log) a failing write on every request.
      pauseAfterFailure: true,
    })
  }

  /**
   * Opens (creating when needed) `<dataDir>/tokens.db`. `dataDir` is created with mode 0700 and the database file
   * with mode 0600 when missing.
   * @throws GW_ERR_DATA_DIR_UNWRITABLE when `dataDir` cannot be created or a file cannot be created in it
   *   (read-only file system, no permission); GW_ERR_TOKEN_STORE when the database cannot be opened, the file is
   *   not a database, or its schema is newer than this code knows; GW_ERR_TOKEN_STORE_FULL when the disk is full.
   */
  static open(dataDir: string, options: TokenStoreOptions = {}): TokenStore {
    const path = join(dataDir, 'tokens.db')
    const log = (options.logger ?? silentLogger()).child({ component: 'tokens' })
    const store = SqliteFile.open(
      path,
      {
        schemaVersion: TOKEN_SCHEMA_VERSION,
        schema: SCHEMA_V1,
        errorCode: 'GW_ERR_TOKEN_STORE',
        fullErrorCode: 'GW_ERR_TOKEN_STORE_FULL',
        writeErrorCode: 'GW_ERR_TOKEN_STORE_WRITE',
        probeDataDir: true,
        name: 'token store',
        logger: log,
      },
      (file) => new TokenStore(file, options.now ?? Date.now, log),
    )
    log.debug({ path }, 'token store opened')
    return store
  }

  /** A new random secret, `bgt_` + base64url of 32 random bytes (256 bits). [HA-6] */
  static generateSecret(): string {
    return TOKEN_SECRET_PREFIX + randomBytes(TOKEN_SECRET_BYTES).toString('base64url')
  }

  /** Whether `value` has the shape of a secret made by {@link TokenStore.generateSecret}. */
  static isWellFormedSecret(value: unknown): value is string {
    if (typeof value !== 'string' || !SECRET_PATTERN.test(value)) return false
    const raw = Buffer.from(value.slice(TOKEN_SECRET_PREFIX.length), 'base64url')
    // canonical encodings only: the last character carries 2 padding bits that must be zero
    return (
      raw.length === TOKEN_SECRET_BYTES &&
      raw.toString('base64url') === value.slice(TOKEN_SECRET_PREFIX.length)
    )
  }

  /**
   * Creates a token and returns it with its secret, which is shown this once: only its SHA-256 is stored. [HA-6]
   * @throws GW_ERR_TOKEN_INVALID when a field is wrong, e.g. "Expected `scope` to be read or readwrite, got
   *   `admin` (string)"; GW_ERR_TOKEN_STORE_FULL (disk full) or GW_ERR_TOKEN_STORE_WRITE (read-only, I/O error)
   *   when the database cannot be written: nothing is stored then.
   */
  create(options: CreateTokenOptions): CreatedToken {
    const db = this.#open()
    const fields = validateCreate(options)
    const secret = TokenStore.generateSecret()
    const token = this.#write('create a token', () =>
      db.transaction(() => this.#insert(secret, fields)).immediate(),
    )
    this.#log.info({ id: token.id, scope: token.scope, root: token.root }, 'token created')
    return { token, secret }
  }

  /**
   * Registers `secret` (made by {@link TokenStore.generateSecret}, typically read from the token file) as the root
   * token with scope `admin`, and revokes every other active root token, in one transaction. A root token is
   * always unique.
   * @throws GW_ERR_TOKEN_INVALID when `secret` is not well formed or already known to the store;
   *   GW_ERR_TOKEN_STORE_FULL or GW_ERR_TOKEN_STORE_WRITE when the database cannot be written.
   */
  installRootSecret(secret: string): TokenInfo {
    const db = this.#open()
    if (!TokenStore.isWellFormedSecret(secret))
      throw createError('GW_ERR_TOKEN_INVALID', [
        `Expected the root secret to be ${TOKEN_SECRET_PREFIX} and 43 base64url characters, got something else`,
      ])
    const fields: Fields = {
      description: ROOT_DESCRIPTION,
      scope: 'admin',
      expiresInSec: undefined,
      root: true,
    }
    const token = this.#write('install the root token', () =>
      db
        .transaction(() => {
          if (this.#sql.byHash.get(sha256(secret)) !== undefined)
            throw createError('GW_ERR_TOKEN_INVALID', [
              'The root secret is already registered in the token store',
            ])
          this.#sql.revokeRoots.run(this.#iso())
          this.#cache.clear()
          return this.#insert(secret, fields)
        })
        .immediate(),
    )
    this.#log.info({ id: token.id }, 'root token installed')
    return token
  }

  /** Every token, revoked and expired ones included, newest first. */
  list(): TokenInfo[] {
    this.#open()
    return this.#sql.list.all().map(toInfo)
  }

  /** The token with `id`, or `undefined`. */
  get(id: string): TokenInfo | undefined {
    this.#open()
    if (typeof id !== 'string') return undefined
    const row = this.#sql.byId.get(id)
    return row === undefined ? undefined : toInfo(row)
  }

  /**
   * Revokes the token with `id`: its secret is refused from now on, by every process using the file. Revoking
   * again keeps the first `revokedAt`.
   * @returns the token, or `undefined` when there is no token with `id`.
   * @throws GW_ERR_TOKEN_STORE_FULL or GW_ERR_TOKEN_STORE_WRITE when the database cannot be written.
   */
  revoke(id: string): TokenInfo | undefined {
    this.#open()
    if (typeof id !== 'string') return undefined
    const changed = this.#write('revoke a token', () => this.#sql.revoke.run(this.#iso(), id).changes)
    this.#cache.clear()
    const row = this.#sql.byId.get(id)
    if (changed > 0) this.#log.info({ id, root: row?.root === 1 }, 'token revoked')
    return row === undefined ? undefined : toInfo(row)
  }

  /**
   * Checks a presented secret: looks it up by its SHA-256, compares the stored hash in constant time, then checks
   * revocation and expiry against the clock. An accepted token's `lastUsedAt` is written at most once per
   * {@link LAST_USED_RESOLUTION_MS}; a failure to write it is logged and does not refuse the token.
   */
  verify(secret: string): VerifyResult {
    this.#open()
    if (!TokenStore.isWellFormedSecret(secret)) return { ok: false, reason: 'malformed' }
    const hash = sha256(secret)
    const version = this.#sql.dataVersion.get() as number
    if (version !== this.#cacheVersion || this.#cache.size > 10_000) {
      this.#cache.clear()
      this.#cacheVersion = version
    }
    const key = hash.toString('base64')
    let row = this.#cache.get(key)
    if (row === undefined) {
      row = this.#sql.byHash.get(hash)
      if (row !== undefined && row.revoked_at === null) this.#cache.set(key, row)
    }
    // [HA-6] the lookup is by hash (which tells nothing about the secret); the comparison is constant-time
    if (row === undefined || row.hash.length !== hash.length || !timingSafeEqual(row.hash, hash))
      return { ok: false, reason: 'unknown' }
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' }
    const now = this.#now()
    if (row.expires_at !== null && Date.parse(row.expires_at) <= now) return { ok: false, reason: 'expired' }
    this.#lastUse.record(row, now)
    return { ok: true, token: toInfo(row) }
  }

  /** Closes the database. Calling it again does nothing; any other call afterwards throws GW_ERR_TOKEN_STORE. */
  close(): void {
    this.#file.close()
  }

  #open(): Database.Database {
    return this.#file.db
  }

  #iso(): string {
    return new Date(this.#now()).toISOString()
  }

  /**
   * Runs a write and turns storage failures into errors that name their cause: `SQLITE_FULL` →
   * GW_ERR_TOKEN_STORE_FULL (507), read-only / I/O / cannot-open → GW_ERR_TOKEN_STORE_WRITE (503). SQLite has
   * rolled the transaction back by then, so nothing was written; the next write is tried afresh.
   */
  #write<T>(what: string, fn: () => T): T {
    return this.#file.write(what, fn)
  }

  /** Inserts a token for `secret`; call inside a transaction. A (rare) id collision draws a new id. */
  #insert(secret: string, fields: Fields): TokenInfo {
    const now = this.#now()
    const row: Row = {
      id: '',
      hash: sha256(secret),
      description: fields.description,
      scope: fields.scope,
      created_at: new Date(now).toISOString(),
      last_used_at: null,
      expires_at:
        fields.expiresInSec === undefined ? null : new Date(now + fields.expiresInSec * 1000).toISOString(),
      revoked_at: null,
      root: fields.root ? 1 : 0,
    }
    for (;;) {
      row.id = randomId('tk_')
      if (this.#sql.byId.get(row.id) === undefined) break
    }
    this.#sql.insert.run(row)
    return toInfo(row)
  }
}
