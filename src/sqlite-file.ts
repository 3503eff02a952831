/**
 * A private SQLite database file, opened the way every Bundlegate store opens its file (tokens, broker credentials,
 * users): the directory gets mode 0700, the file 0600, the connection WAL with `synchronous=FULL` and a 5 s busy
 * timeout, and the schema is checked against `PRAGMA user_version`. Each store passes its own error codes, and a write
 * the storage refuses becomes the store's error: a full disk (`SQLITE_FULL`, 507) or a read-only, failing or
 * unopenable file (503), as docs/reliability.md "Full disk and read-only data directory" describes.
 * @module
 */

import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { createError, type ErrorCode, GatewayError } from './errors.ts'
import type { Logger } from './logger.ts'

/** What {@link SqliteFile.open} takes. */
export interface SqliteFileOptions {
  /**
   * The schema version this code writes (`PRAGMA user_version`); a file with a newer one is refused.
   * @example 1
   */
  schemaVersion: number
  /** The SQL that creates the schema in a new file (`user_version` 0). */
  schema: string
  /**
   * The store's error, `<Store> %s: %s`, thrown with `[path, what]`: the file cannot be opened, its schema is
   * newer, or it is used after {@link SqliteFile.close}.
   * @example 'GW_ERR_USER_STORE'
   */
  errorCode: ErrorCode
  /**
   * The store's "disk full" error (status 507), thrown with `[path, message]` when opening or a
   * {@link SqliteFile.write} fails with `SQLITE_FULL`. @default errorCode at open; the SQLite error for a write
   * @example 'GW_ERR_TOKEN_STORE_FULL'
   */
  fullErrorCode?: ErrorCode
  /**
   * The store's "cannot be written" error (status 503), thrown with `[path, 'message (SQLITE_…)']` when a
   * {@link SqliteFile.write} fails because the storage refused it: read-only, I/O error, cannot open, no permission.
   * @default the SQLite error as it is
   * @example 'GW_ERR_TOKEN_STORE_WRITE'
   */
  writeErrorCode?: ErrorCode
  /**
   * Check first that a file can be created in the directory: a read-only or foreign-owned data directory is then
   * GW_ERR_DATA_DIR_UNWRITABLE naming the directory and the cause (SQLite would only say "unable to open database
   * file"). @default false
   */
  probeDataDir?: boolean
  /** The store, as the error log line of a refused write names it. @default 'store' @example 'token store' */
  name?: string
  /** Where a refused write is logged (at error). @default nowhere */
  logger?: Logger
}

/** SQLite result codes (extended ones included) that mean "the storage refused the write". */
const STORAGE_FAILURE = /^SQLITE_(READONLY|IOERR|CANTOPEN|PERM)(_|$)/

/**
 * One open database file. Every call is synchronous (better-sqlite3).
 *
 * @example
 * const store = SqliteFile.open(
 *   join(dataDir, 'users.db'),
 *   { schemaVersion: 1, schema: 'CREATE TABLE users (…) STRICT;', errorCode: 'GW_ERR_USER_STORE' },
 *   (file) => new UserStore(file),
 * )
 */
export class SqliteFile {
  /** Path of the database file. */
  readonly path: string
  readonly #options: SqliteFileOptions
  #db: Database.Database | undefined

  private constructor(path: string, db: Database.Database, options: SqliteFileOptions) {
    this.path = path
    this.#db = db
    this.#options = options
  }

  /**
   * Opens `path`, creating its directory (mode 0700) and the file (mode 0600; SQLite gives its -wal and -shm files
   * the same mode) when missing, and the schema in a new file, then builds the store on it with `build` (which
   * typically prepares its statements). When anything fails the file is closed again.
   * @throws `errorCode` when the file cannot be created or opened, is not a database, or its schema is newer than
   *   `schemaVersion`, or `build` throws something else than a GatewayError; `fullErrorCode` when the disk is full.
   */
  static open<T>(path: string, options: SqliteFileOptions, build: (file: SqliteFile) => T): T {
    if (options.probeDataDir) probeDataDir(dirname(path), `.${basename(path)}.probe-${process.pid}`)
    let db: Database.Database | undefined
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      createPrivateFile(path)
      db = new Database(path)
      db.pragma('busy_timeout = 5000')
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      migrate(db, path, options)
      return build(new SqliteFile(path, db, options))
    } catch (err) {
      db?.close()
      if (err instanceof GatewayError) throw err
      const message = err instanceof Error ? err.message : String(err)
      if (options.fullErrorCode !== undefined && sqliteCode(err) === 'SQLITE_FULL')
        throw createError(options.fullErrorCode, [path, message], { cause: err })
      throw createError(options.errorCode, [path, `cannot be opened: ${message}`], { cause: err })
    }
  }

  /**
   * The connection.
   * @throws `errorCode` ("is closed") after {@link SqliteFile.close}.
   */
  get db(): Database.Database {
    if (this.#db === undefined) throw createError(this.#options.errorCode, [this.path, 'is closed'])
    return this.#db
  }

  /**
   * Runs a write (`what`, e.g. "create a token") and turns storage failures into the store's errors that name their
   * cause: `SQLITE_FULL` → `fullErrorCode` (507), read-only / I/O / cannot-open → `writeErrorCode` (503), logged
   * at error. SQLite has rolled the transaction back by then, so nothing was written; the next write is tried
   * afresh. Any other error passes as it is.
   */
  write<T>(what: string, fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      const error = this.#storageError(err)
      if (error === undefined) throw err
      this.#options.logger?.error(
        { err, code: sqliteCode(err), path: this.path },
        `cannot ${what}: the ${this.#options.name ?? 'store'} cannot be written`,
      )
      throw error
    }
  }

  /** Closes the database. Calling it again does nothing. */
  close(): void {
    const db = this.#db
    this.#db = undefined
    db?.close()
  }

  #storageError(err: unknown): GatewayError | undefined {
    const code = sqliteCode(err)
    if (code === undefined) return undefined
    const { fullErrorCode, writeErrorCode } = this.#options
    if (code === 'SQLITE_FULL')
      return fullErrorCode && createError(fullErrorCode, [this.path, errorText(err)], { cause: err })
    if (STORAGE_FAILURE.test(code))
      return (
        writeErrorCode &&
        createError(writeErrorCode, [this.path, `${errorText(err)} (${code})`], { cause: err })
      )
    return undefined
  }
}

/** Creates the schema of a new file, or checks that an existing one is a version this code knows. */
function migrate(db: Database.Database, path: string, options: SqliteFileOptions): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > options.schemaVersion)
      throw createError(options.errorCode, [
        path,
        `has schema version ${version}, newer than this Bundlegate knows (${options.schemaVersion})`,
      ])
    if (version < 1) {
      db.exec(options.schema)
      db.pragma(`user_version = ${options.schemaVersion}`)
    }
  }).immediate()
}

/** Creates `path` empty with mode 0600 unless it exists. */
function createPrivateFile(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * Creates `dataDir` (mode 0700) when missing and checks that a file (`probeName`) can be created in it, so that a
 * read-only or foreign-owned data directory stops the start with GW_ERR_DATA_DIR_UNWRITABLE saying so. The probe is
 * an empty file: a full disk is not refused here, only later writes fail.
 */
export function probeDataDir(dataDir: string, probeName: string): void {
  const fail = (what: string, err: unknown): never => {
    const e = err as NodeJS.ErrnoException
    throw createError('GW_ERR_DATA_DIR_UNWRITABLE', [dataDir, `${what} (${e.code ?? errorText(err)})`], {
      cause: err,
    })
  }
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    fail('it cannot be created', err)
  }
  const probe = join(dataDir, probeName)
  try {
    closeSync(openSync(probe, 'w', 0o600))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'EROFS'
        ? 'read-only file system'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOSPC'
            ? 'no space left on the device'
            : errorText(err)
    fail(why, err)
  }
  rmSync(probe, { force: true })
}
