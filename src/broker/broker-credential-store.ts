/**
 * MQTT credentials of bundles for the embedded broker (docs/security.md), kept in SQLite at
 * `<dataDir>/broker-credentials.db`, next to `tokens.db`. The user name is the bundle name; the password is a
 * 256-bit random secret shown once by {@link BrokerCredentialStore.create}: only its SHA-256 is stored. A bundle may
 * hold several active credentials (one per installation, one per `bundlegate run`); revoking refuses them from the
 * next CONNECT on, in every process using the file (no cache).
 * @module
 */

import { randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { SqliteFile } from '../sqlite-file.ts'
import { LastUseRecorder, randomId, sha256 } from '../tokens/index.ts'

/** A credential as listings show it: never its password, never its hash. Times are ISO 8601 UTC. */
export interface BrokerCredentialInfo {
  /** Public id: `bc_` and 10 lowercase base32 characters. */
  id: string
  /** The bundle, which is also the MQTT user name. */
  bundle: string
  /** What the credential is for. */
  description: string
  createdAt: string
  /** The last accepted CONNECT, to within 60 s; `null` if never. */
  lastUsedAt: string | null
  revokedAt: string | null
}

/** A new credential and its password (shown once). */
export interface CreatedBrokerCredential {
  credential: BrokerCredentialInfo
  /** MQTT user name: the bundle name. */
  username: string
  /** `bgm_` + base64url of 32 random bytes. */
  password: string
}

/** The answer of {@link BrokerCredentialStore.verify}. */
export type BrokerCredentialCheck =
  | { ok: true; credential: BrokerCredentialInfo }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' }

/** Options of {@link BrokerCredentialStore.open}. */
export interface BrokerCredentialStoreOptions {
  logger?: Logger
  /** @default Date.now */
  now?: () => number
}

/** The file name inside the data directory. */
export const BROKER_CREDENTIALS_FILE = 'broker-credentials.db'
/** The prefix of a broker password. */
export const BROKER_PASSWORD_PREFIX = 'bgm_'
/** The bundle (user) name rule: the registration name rule of the wire protocol (§8.9). */
export const BUNDLE_NAME_RULE = /^[A-Za-z0-9-]{1,64}$/

const SCHEMA_VERSION = 1
const PASSWORD_PATTERN = /^bgm_[A-Za-z0-9_-]{43}$/
const DESCRIPTION_MAX = 200
const LAST_USED_RESOLUTION_MS = 60_000

const SCHEMA_V1 = `
CREATE TABLE credentials (
  id TEXT PRIMARY KEY NOT NULL CHECK (id GLOB 'bc_*'),
  bundle TEXT NOT NULL,
  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  description TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
) STRICT;
CREATE INDEX credentials_bundle ON credentials (bundle);
`

interface Row {
  id: string
  bundle: string
  hash: Buffer
  description: string
  created_at: string
  last_used_at: string | null
  revoked_at: string | null
}

/**
 * The broker credential database (synchronous, better-sqlite3; WAL, `synchronous=FULL`, 5 s busy timeout).
 *
 * @example
 * const store = BrokerCredentialStore.open('/var/lib/bundlegate')
 * const { username, password } = store.create('thermo', { description: 'thermo on device 7' })
 * store.verify(username, password) // { ok: true, credential }
 */
export class BrokerCredentialStore {
  readonly path: string
  readonly #file: SqliteFile
  readonly #now: () => number
  readonly #log: Logger
  readonly #sql: {
    insert: Database.Statement<[Row]>
    byId: Database.Statement<[string], Row>
    byHash: Database.Statement<[Buffer], Row>
    list: Database.Statement<[], Row>
    revokeId: Database.Statement<[string, string]>
    revokeBundle: Database.Statement<[string, string]>
    activeOf: Database.Statement<[string], Row>
  }
  readonly #lastUse: LastUseRecorder

  private constructor(file: SqliteFile, now: () => number, log: Logger) {
    const db = file.db
    this.path = file.path
    this.#file = file
    this.#now = now
    this.#log = log
    this.#sql = {
      insert: db.prepare(
        `INSERT INTO credentials (id, bundle, hash, description, created_at, last_used_at, revoked_at)
         VALUES (@id, @bundle, @hash, @description, @created_at, @last_used_at, @revoked_at)`,
      ),
      byId: db.prepare('SELECT * FROM credentials WHERE id = ?'),
      byHash: db.prepare('SELECT * FROM credentials WHERE hash = ?'),
      list: db.prepare('SELECT * FROM credentials ORDER BY bundle, created_at DESC, rowid DESC'),
      revokeId: db.prepare('UPDATE credentials SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      revokeBundle: db.prepare(
        'UPDATE credentials SET revoked_at = ? WHERE bundle = ? AND revoked_at IS NULL',
      ),
      activeOf: db.prepare('SELECT * FROM credentials WHERE bundle = ? AND revoked_at IS NULL'),
    }
    this.#lastUse = new LastUseRecorder({
      touch: db.prepare(
        'UPDATE credentials SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)',
      ),
      resolutionMs: LAST_USED_RESOLUTION_MS,
      log,
      failureMessage: 'cannot record the last use of a broker credential',
      pauseAfterFailure: false,
    })
  }

  /** Whether `<dataDir>/broker-credentials.db` exists (a gateway has used broker authentication there). */
  static exists(dataDir: string): boolean {
    return existsSync(join(dataDir, BROKER_CREDENTIALS_FILE))
  }

  /**
   * Opens (creating when needed) `<dataDir>/broker-credentials.db`; the directory gets mode 0700 and the file 0600.
   * @throws GW_ERR_BROKER_CREDENTIAL_STORE when it cannot be created or opened, or its schema is newer than ours;
   *   GW_ERR_BROKER_CREDENTIAL_FULL when the disk is full.
   */
  static open(dataDir: string, options: BrokerCredentialStoreOptions = {}): BrokerCredentialStore {
    const path = join(dataDir, BROKER_CREDENTIALS_FILE)
    const log = (options.logger ?? silentLogger()).child({ component: 'broker-credentials' })
    return SqliteFile.open(
      path,
      {
        schemaVersion: SCHEMA_VERSION,
        schema: SCHEMA_V1,
        errorCode: 'GW_ERR_BROKER_CREDENTIAL_STORE',
        fullErrorCode: 'GW_ERR_BROKER_CREDENTIAL_FULL',
        writeErrorCode: 'GW_ERR_BROKER_CREDENTIAL_WRITE',
        name: 'broker credential store',
        logger: log,
      },
      (file) => new BrokerCredentialStore(file, options.now ?? Date.now, log),
    )
  }

  /**
   * Issues a credential for `bundle` (also its MQTT user name); the password is returned this once.
   * @throws GW_ERR_BROKER_CREDENTIAL_INVALID when the bundle name breaks the registration name rule or the
   *   description is empty or longer than 200 characters; GW_ERR_BROKER_CREDENTIAL_FULL (disk full, 507) or
   *   GW_ERR_BROKER_CREDENTIAL_WRITE (read-only, I/O error, 503) when the database cannot be written: nothing is
   *   stored then.
   */
  create(bundle: string, options: { description?: string } = {}): CreatedBrokerCredential {
    const db = this.#open()
    if (typeof bundle !== 'string' || !BUNDLE_NAME_RULE.test(bundle))
      throw createError('GW_ERR_BROKER_CREDENTIAL_INVALID', [
        `Expected the bundle name to match [A-Za-z0-9-], 1 to 64 characters, got \`${String(bundle).slice(0, 80)}\``,
      ])
    const description = (options.description ?? `bundle ${bundle}`).trim()
    if (description.length === 0 || description.length > DESCRIPTION_MAX)
      throw createError('GW_ERR_BROKER_CREDENTIAL_INVALID', [
        `Expected the description to be 1 to ${DESCRIPTION_MAX} characters once trimmed, got ${description.length}`,
      ])
    const password = BROKER_PASSWORD_PREFIX + randomBytes(32).toString('base64url')
    const row: Row = {
      id: '',
      bundle,
      hash: sha256(password),
      description,
      created_at: this.#iso(),
      last_used_at: null,
      revoked_at: null,
    }
    this.#file.write('create a broker credential', () =>
      db
        .transaction(() => {
          do row.id = randomId('bc_')
          while (this.#sql.byId.get(row.id) !== undefined)
          this.#sql.insert.run(row)
        })
        .immediate(),
    )
    this.#log.info({ id: row.id, bundle }, 'broker credential created')
    return { credential: toInfo(row), username: bundle, password }
  }

  /** Every credential, revoked ones included, by bundle then newest first. */
  list(): BrokerCredentialInfo[] {
    this.#open()
    return this.#sql.list.all().map(toInfo)
  }

  /** The active (not revoked) credentials of `bundle`. */
  active(bundle: string): BrokerCredentialInfo[] {
    this.#open()
    return this.#sql.activeOf.all(bundle).map(toInfo)
  }

  /**
   * Revokes every active credential of a bundle (`bundle`), or one credential (`bc_…` id). Clients already
   * connected keep their connection until the broker's next check (see the broker's `recheck`); a new CONNECT
   * with a revoked password is refused at once.
   * @returns the credentials revoked now (empty when there was nothing active to revoke).
   * @throws GW_ERR_BROKER_CREDENTIAL_FULL or GW_ERR_BROKER_CREDENTIAL_WRITE when the database cannot be written:
   *   nothing is revoked then.
   */
  revoke(bundleOrId: string): BrokerCredentialInfo[] {
    const db = this.#open()
    const at = this.#iso()
    const revoked = this.#file.write('revoke a broker credential', () =>
      db
        .transaction(() => {
          if (bundleOrId.startsWith('bc_')) {
            const row = this.#sql.byId.get(bundleOrId)
            if (!row || row.revoked_at !== null) return []
            this.#sql.revokeId.run(at, bundleOrId)
            return [{ ...row, revoked_at: at }]
          }
          const rows = this.#sql.activeOf.all(bundleOrId)
          this.#sql.revokeBundle.run(at, bundleOrId)
          return rows.map((r) => ({ ...r, revoked_at: at }))
        })
        .immediate(),
    )
    for (const r of revoked) this.#log.info({ id: r.id, bundle: r.bundle }, 'broker credential revoked')
    return revoked.map(toInfo)
  }

  /** Whether `bundle` has at least one active credential. */
  hasActive(bundle: string): boolean {
    this.#open()
    return this.#sql.activeOf.get(bundle) !== undefined
  }

  /** Whether the credential with `id` exists and is not revoked. */
  isActive(id: string): boolean {
    this.#open()
    const row = this.#sql.byId.get(id)
    return row !== undefined && row.revoked_at === null
  }

  /**
   * Checks a CONNECT: the password is looked up by its SHA-256, the stored hash compared in constant time, and the
   * user name must be the credential's bundle. Never throws for bad input.
   */
  verify(username: string, password: string): BrokerCredentialCheck {
    this.#open()
    if (typeof password !== 'string' || !PASSWORD_PATTERN.test(password) || typeof username !== 'string')
      return { ok: false, reason: 'malformed' }
    const hash = sha256(password)
    const row = this.#sql.byHash.get(hash)
    if (row === undefined || !timingSafeEqual(row.hash, hash)) return { ok: false, reason: 'unknown' }
    const user = Buffer.from(username, 'utf8')
    const owner = Buffer.from(row.bundle, 'utf8')
    if (user.length !== owner.length || !timingSafeEqual(user, owner)) return { ok: false, reason: 'unknown' }
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' }
    this.#lastUse.record(row, this.#now())
    return { ok: true, credential: toInfo(row) }
  }

  /** Closes the database; idempotent. */
  close(): void {
    this.#file.close()
  }

  #open(): Database.Database {
    return this.#file.db
  }

  #iso(): string {
    return new Date(this.#now()).toISOString()
  }
}

function toInfo(row: Row): BrokerCredentialInfo {
  return {
    id: row.id,
    bundle: row.bundle,
    description: row.description,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  }
}
