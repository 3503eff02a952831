/**
 * A private SQLite database file, opened the way every Bundlegate store opens its file (tokens, broker credentials,
 * users): the directory gets mode 0700, the file 0600, the connection WAL with `synchronous=FULL` and a 5 s busy
 * timeout, and the schema is checked against `PRAGMA user_version`. Each store passes its own error codes.
 * @module
 */

import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { createError, type ErrorCode, GatewayError } from './errors.ts'

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
  /** The store's "disk full" error, thrown with `[path, message]` when opening fails with `SQLITE_FULL`. @default errorCode */
  fullErrorCode?: ErrorCode
}

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
  readonly #errorCode: ErrorCode
  #db: Database.Database | undefined

  private constructor(path: string, db: Database.Database, errorCode: ErrorCode) {
    this.path = path
    this.#db = db
    this.#errorCode = errorCode
  }

  /**
   * Opens `path`, creating its directory (mode 0700) and the file (mode 0600; SQLite gives its -wal and -shm files
   * the same mode) when missing, and the schema in a new file, then builds the store on it with `build` (which
   * typically prepares its statements). When anything fails the file is closed again.
   * @throws `errorCode` when the file cannot be created or opened, is not a database, or its schema is newer than
   *   `schemaVersion`, or `build` throws something else than a GatewayError; `fullErrorCode` when the disk is full.
   */
  static open<T>(path: string, options: SqliteFileOptions, build: (file: SqliteFile) => T): T {
    let db: Database.Database | undefined
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
      createPrivateFile(path)
      db = new Database(path)
      db.pragma('busy_timeout = 5000')
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = FULL')
      migrate(db, path, options)
      return build(new SqliteFile(path, db, options.errorCode))
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
    if (this.#db === undefined) throw createError(this.#errorCode, [this.path, 'is closed'])
    return this.#db
  }

  /** Closes the database. Calling it again does nothing. */
  close(): void {
    const db = this.#db
    this.#db = undefined
    db?.close()
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
