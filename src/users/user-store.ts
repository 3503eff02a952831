/**
 * Console users, kept in SQLite at `<dataDir>/users.db` (its own file, so the token database's schema is left
 * alone). Passwords are stored as scrypt hashes ([HA-10]); every user is an admin (http-api.md §3).
 * @module
 */

import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { SqliteFile } from '../sqlite-file.ts'
import { hashPassword, SCRYPT_PARAMS, verifyPassword } from './password-hash.ts'

/** The user the gateway creates at its first start. */
export const ADMIN_USERNAME = 'admin'
/** The schema version this code writes (`PRAGMA user_version`). */
export const USER_SCHEMA_VERSION = 1
/** Usernames: 1 to 64 of letters, digits, `.`, `_`, `-`. */
export const USERNAME_RULE = /^[A-Za-z0-9._-]{1,64}$/

/** A user as shown: never the password hash. Times are ISO 8601 UTC. */
export interface UserInfo {
  username: string
  /** The password is an initial one (or was reset): the next login must change it first. */
  mustChangePassword: boolean
  createdAt: string
  /** When the password was last set; sessions opened before it are ended. */
  passwordChangedAt: string
}

/** What {@link UserStore.ensureAdmin} did. */
export type EnsuredAdmin =
  | { created: true; user: UserInfo; password: string }
  | { created: false; user: UserInfo }

interface Row {
  username: string
  password: string
  must_change: number
  created_at: string
  password_changed_at: string
}

const SCHEMA_V1 = `
CREATE TABLE users (
  username TEXT PRIMARY KEY NOT NULL,
  password TEXT NOT NULL,
  must_change INTEGER NOT NULL DEFAULT 0 CHECK (must_change IN (0, 1)),
  created_at TEXT NOT NULL,
  password_changed_at TEXT NOT NULL
) STRICT;
`

/** A hash no password matches, checked for unknown users so that they cost as much time as known ones. */
let dummyHash: Promise<string> | undefined

/**
 * The user database. Reads are synchronous; hashing is asynchronous (scrypt runs on libuv's thread pool, so a
 * login does not block the event loop).
 */
export class UserStore {
  readonly path: string
  readonly #file: SqliteFile
  readonly #now: () => number
  readonly #log: Logger

  private constructor(file: SqliteFile, now: () => number, log: Logger) {
    this.path = file.path
    this.#file = file
    this.#now = now
    this.#log = log
  }

  /**
   * Opens (creating when needed, mode 0600) `<dataDir>/users.db`.
   * @throws GW_ERR_USER_STORE when it cannot be opened or its schema is newer than this code knows;
   *   GW_ERR_USER_STORE_FULL when the disk is full.
   */
  static open(dataDir: string, options: { logger?: Logger; now?: () => number } = {}): UserStore {
    const path = join(dataDir, 'users.db')
    const log = (options.logger ?? silentLogger()).child({ component: 'users' })
    return SqliteFile.open(
      path,
      {
        schemaVersion: USER_SCHEMA_VERSION,
        schema: SCHEMA_V1,
        errorCode: 'GW_ERR_USER_STORE',
        fullErrorCode: 'GW_ERR_USER_STORE_FULL',
        writeErrorCode: 'GW_ERR_USER_STORE_WRITE',
        name: 'user store',
        logger: log,
      },
      (file) => new UserStore(file, options.now ?? Date.now, log),
    )
  }

  /** The user named `username`, or `undefined`. */
  get(username: string): UserInfo | undefined {
    const row = this.#row(username)
    return row && toInfo(row)
  }

  /** Every user, by name. */
  list(): UserInfo[] {
    return (this.#open().prepare('SELECT * FROM users ORDER BY username').all() as Row[]).map(toInfo)
  }

  /**
   * The user when `password` is theirs, else `undefined`. An unknown username costs one scrypt like a known one,
   * so the time taken does not tell which usernames exist.
   */
  async verify(username: string, password: string): Promise<UserInfo | undefined> {
    const row = typeof username === 'string' ? this.#row(username) : undefined
    if (row === undefined) {
      dummyHash ??= hashPassword(randomBytes(16).toString('hex'))
      await verifyPassword(password, await dummyHash)
      return undefined
    }
    return (await verifyPassword(password, row.password)) ? toInfo(row) : undefined
  }

  /**
   * Sets the password of `username`, creating the user when missing. The caller checks the password policy.
   * `mustChange` makes the next login change it first (initial and reset passwords).
   * @throws GW_ERR_USER_STORE_FULL (disk full, 507) or GW_ERR_USER_STORE_WRITE (read-only, I/O error, 503) when
   *   the database cannot be written: the password is unchanged then.
   */
  async setPassword(username: string, password: string, mustChange: boolean): Promise<UserInfo> {
    if (!USERNAME_RULE.test(username))
      throw createError('GW_ERR_BAD_REQUEST', [
        `Expected a username of 1 to 64 letters, digits, '.', '_' or '-', got \`${username}\``,
      ])
    const hash = await hashPassword(password, SCRYPT_PARAMS)
    const db = this.#open()
    // a password set twice within the same millisecond must still end the older sessions: stamps only grow
    const prev = this.#row(username)
    let at = this.#now()
    if (prev && Date.parse(prev.password_changed_at) >= at) at = Date.parse(prev.password_changed_at) + 1
    const iso = new Date(at).toISOString()
    const upsert = db.prepare(
      `INSERT INTO users (username, password, must_change, created_at, password_changed_at)
       VALUES (@username, @password, @must_change, @at, @at)
       ON CONFLICT (username) DO UPDATE SET password = @password, must_change = @must_change,
         password_changed_at = @at`,
    )
    this.#file.write('set a password', () =>
      upsert.run({ username, password: hash, must_change: mustChange ? 1 : 0, at: iso }),
    )
    this.#log.info({ username, mustChange }, prev ? 'password changed' : 'user created')
    return toInfo(this.#row(username) as Row)
  }

  /**
   * Creates the admin user with a random initial password when there is no user at all (first start). The
   * password is returned this once, never stored in clear and never shown again.
   */
  async ensureAdmin(): Promise<EnsuredAdmin> {
    const any = this.#open().prepare('SELECT username FROM users LIMIT 1').get()
    if (any !== undefined) {
      const admin = this.get(ADMIN_USERNAME) ?? (this.list()[0] as UserInfo)
      return { created: false, user: admin }
    }
    const password = initialPassword()
    const user = await this.setPassword(ADMIN_USERNAME, password, true)
    return { created: true, user, password }
  }

  /** Closes the database; calling it again does nothing. */
  close(): void {
    this.#file.close()
  }

  #row(username: string): Row | undefined {
    return this.#open().prepare('SELECT * FROM users WHERE username = ?').get(username) as Row | undefined
  }

  #open(): Database.Database {
    return this.#file.db
  }
}

/** 15 characters from an alphabet without look-alikes (0/O, 1/l/I): about 84 bits. */
function initialPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  let out = ''
  while (out.length < 15) {
    for (const b of randomBytes(32)) {
      // 56 characters: reject bytes past the largest multiple of 56 to stay uniform
      if (b < 224 && out.length < 15) out += alphabet[b % 56]
    }
  }
  return out
}

function toInfo(row: Row): UserInfo {
  return {
    username: row.username,
    mustChangePassword: row.must_change === 1,
    createdAt: row.created_at,
    passwordChangedAt: row.password_changed_at,
  }
}
