/**
 * The SQL of `tokens.db`: its schema (version {@link TOKEN_SCHEMA_VERSION}), the row shape, the prepared
 * statements the store uses, and a row as the API shows it.
 * @module
 */
import type Database from 'better-sqlite3'
import type { TokenInfo, TokenScope } from './token-types.ts'

/** Schema version 1 of `tokens.db`. */
export const SCHEMA_V1 = `
CREATE TABLE tokens (
  id TEXT PRIMARY KEY NOT NULL CHECK (id GLOB 'tk_*'),
  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  description TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'readwrite', 'admin')),
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  expires_at TEXT,
  revoked_at TEXT,
  root INTEGER NOT NULL DEFAULT 0 CHECK (root IN (0, 1))
) STRICT;
`

/** A row of the `tokens` table. */
export interface Row {
  id: string
  hash: Buffer
  description: string
  scope: TokenScope
  created_at: string
  last_used_at: string | null
  expires_at: string | null
  revoked_at: string | null
  root: number
}

/** The prepared statements of the store (the last-use update is the {@link LastUseRecorder}'s). */
export interface Statements {
  insert: Database.Statement<[Row]>
  byId: Database.Statement<[string], Row>
  byHash: Database.Statement<[Buffer], Row>
  list: Database.Statement<[], Row>
  revoke: Database.Statement<[string, string]>
  revokeRoots: Database.Statement<[string]>
  dataVersion: Database.Statement<[], number>
}

/** Prepares the store's statements on `db`. */
export function prepareStatements(db: Database.Database): Statements {
  return {
    insert: db.prepare(
      `INSERT INTO tokens (id, hash, description, scope, created_at, last_used_at, expires_at, revoked_at, root)
         VALUES (@id, @hash, @description, @scope, @created_at, @last_used_at, @expires_at, @revoked_at, @root)`,
    ),
    byId: db.prepare('SELECT * FROM tokens WHERE id = ?'),
    byHash: db.prepare('SELECT * FROM tokens WHERE hash = ?'),
    list: db.prepare('SELECT * FROM tokens ORDER BY created_at DESC, rowid DESC'),
    revoke: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    revokeRoots: db.prepare('UPDATE tokens SET revoked_at = ? WHERE root = 1 AND revoked_at IS NULL'),
    dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
  }
}

/** A row as the API shows it: never the hash. */
export function toInfo(row: Row): TokenInfo {
  return {
    id: row.id,
    description: row.description,
    scope: row.scope,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    root: row.root === 1,
  }
}
