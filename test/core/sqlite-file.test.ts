import assert from 'node:assert/strict'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import Database from 'better-sqlite3'
import { GatewayError } from '../../src/errors.ts'
import { probeDataDir, SqliteFile, type SqliteFileOptions } from '../../src/sqlite-file.ts'
import { logSink } from '../helpers/gateway.ts'

const OPTIONS: SqliteFileOptions = {
  schemaVersion: 1,
  schema: 'CREATE TABLE things (id TEXT PRIMARY KEY NOT NULL) STRICT;',
  errorCode: 'GW_ERR_USER_STORE',
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-sqlite-file-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function rejects(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, code)
    assert.match(err.message, message)
    return true
  })
}

test('open creates the directory (0700) and the file (0600), WAL, synchronous=FULL, busy timeout, schema version', async (t) => {
  const dir = join(await tempDir(t), 'nested', 'data')
  const file = SqliteFile.open(join(dir, 'things.db'), OPTIONS, (f) => f)
  t.after(() => file.close())
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  assert.equal((await stat(file.path)).mode & 0o777, 0o600)
  const db = file.db
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  assert.equal(db.pragma('synchronous', { simple: true }), 2) // FULL
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000)
  assert.equal(db.pragma('user_version', { simple: true }), 1)
  db.prepare('INSERT INTO things (id) VALUES (?)').run('a')
  file.close()
  // reopening keeps the data and does not run the schema again
  const again = SqliteFile.open(file.path, OPTIONS, (f) => f)
  t.after(() => again.close())
  assert.deepEqual(again.db.prepare('SELECT id FROM things').pluck().all(), ['a'])
})

test('a file with a newer schema is refused with the store error code', async (t) => {
  const path = join(await tempDir(t), 'things.db')
  const raw = new Database(path)
  raw.pragma('user_version = 7')
  raw.close()
  rejects(
    () => SqliteFile.open(path, OPTIONS, (f) => f),
    'GW_ERR_USER_STORE',
    /has schema version 7, newer than this Bundlegate knows \(1\)/,
  )
})

test('a file that is not a database is refused as "cannot be opened" with the store error code', async (t) => {
  const path = join(await tempDir(t), 'things.db')
  await writeFile(path, 'this is not a database, only text '.repeat(200))
  rejects(
    () => SqliteFile.open(path, { ...OPTIONS, errorCode: 'GW_ERR_BROKER_CREDENTIAL_STORE' }, (f) => f),
    'GW_ERR_BROKER_CREDENTIAL_STORE',
    /cannot be opened/,
  )
})

test('a failing build closes the file again and answers the store error; a GatewayError passes as it is', async (t) => {
  const path = join(await tempDir(t), 'things.db')
  let built: SqliteFile | undefined
  rejects(
    () =>
      SqliteFile.open(path, OPTIONS, (f) => {
        built = f
        f.db.prepare('SELECT * FROM no_such_table')
      }),
    'GW_ERR_USER_STORE',
    /cannot be opened: no such table/,
  )
  assert.ok(built)
  assert.equal((built as SqliteFile).path, path)
  // the connection was closed: no statement can be prepared on it any more
  assert.throws(() => (built as SqliteFile).db.prepare('SELECT 1'), /not open/)
  rejects(
    () =>
      SqliteFile.open(path, OPTIONS, () => {
        throw new GatewayError('GW_ERR_TOKEN_INVALID', 'from build')
      }),
    'GW_ERR_TOKEN_INVALID',
    /from build/,
  )
})

test('after close, db throws "is closed" with the store error code; close again does nothing', async (t) => {
  const file = SqliteFile.open(join(await tempDir(t), 'things.db'), OPTIONS, (f) => f)
  file.close()
  file.close()
  rejects(() => file.db, 'GW_ERR_USER_STORE', /is closed/)
})

const WRITING: SqliteFileOptions = {
  ...OPTIONS,
  errorCode: 'GW_ERR_USER_STORE',
  fullErrorCode: 'GW_ERR_USER_STORE_FULL',
  writeErrorCode: 'GW_ERR_USER_STORE_WRITE',
  name: 'user store',
}

test("write: SQLITE_FULL becomes the store's 507 error, a read-only database its 503 error, logged; others pass as they are", async (t) => {
  const sink = logSink('error')
  const file = SqliteFile.open(
    join(await tempDir(t), 'things.db'),
    { ...WRITING, logger: sink.logger },
    (f) => f,
  )
  t.after(() => file.close())
  const insert = file.db.prepare('INSERT INTO things (id) VALUES (?)')
  assert.equal(
    file.write('add a thing', () => insert.run('a').changes),
    1,
  )
  // SQLite's own size cap answers SQLITE_FULL ("database or disk is full"), like a full disk
  const pages = file.db.pragma('page_count', { simple: true }) as number
  file.db.pragma(`max_page_count = ${pages}`)
  const big = 'x'.repeat(64 * 1024)
  assert.throws(
    () => file.write('add a big thing', () => insert.run(big)),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError, String(err))
      assert.equal(err.code, 'GW_ERR_USER_STORE_FULL')
      assert.equal(err.statusCode, 507)
      assert.match(
        err.message,
        /things\.db cannot be written: no space left on the device \(database or disk is full\)/,
      )
      assert.equal((err.cause as { code?: string }).code, 'SQLITE_FULL')
      return true
    },
  )
  file.db.pragma('max_page_count = 1073741823')
  file.db.pragma('query_only = ON') // every write now fails with SQLITE_READONLY
  assert.throws(
    () => file.write('add another thing', () => insert.run('b')),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError, String(err))
      assert.equal(err.code, 'GW_ERR_USER_STORE_WRITE')
      assert.equal(err.statusCode, 503)
      assert.match(err.message, /cannot be written: .*\(SQLITE_READONLY\)$/)
      return true
    },
  )
  assert.deepEqual(
    sink.lines.filter((l) => l.level === 50).map((l) => l.msg),
    [
      'cannot add a big thing: the user store cannot be written',
      'cannot add another thing: the user store cannot be written',
    ],
  )
  file.db.pragma('query_only = OFF')
  // a constraint violation is no storage failure: it passes unchanged
  assert.throws(() => file.write('add a thing again', () => insert.run('a')), {
    code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
  })
  const plain = new Error('not SQLite')
  assert.throws(
    () =>
      file.write('fail', () => {
        throw plain
      }),
    (err) => err === plain,
  )
  assert.deepEqual(file.db.prepare('SELECT id FROM things').pluck().all(), ['a'], 'nothing was half written')
})

test('write without the write codes passes the SQLite error as it is', async (t) => {
  const file = SqliteFile.open(join(await tempDir(t), 'things.db'), OPTIONS, (f) => f)
  t.after(() => file.close())
  file.db.pragma('query_only = ON')
  const insert = file.db.prepare('INSERT INTO things (id) VALUES (?)')
  assert.throws(() => file.write('add', () => insert.run('a')), { code: 'SQLITE_READONLY' })
})

test('probeDataDir: a directory that cannot be created is GW_ERR_DATA_DIR_UNWRITABLE naming it and the cause', async (t) => {
  const root = await tempDir(t)
  await writeFile(join(root, 'file'), 'a file where the directory should be')
  const dataDir = join(root, 'file', 'data')
  rejects(
    () => probeDataDir(dataDir, '.probe'),
    'GW_ERR_DATA_DIR_UNWRITABLE',
    /it cannot be created \(ENOTDIR\)/,
  )
  rejects(
    () => SqliteFile.open(join(dataDir, 'things.db'), { ...OPTIONS, probeDataDir: true }, (f) => f),
    'GW_ERR_DATA_DIR_UNWRITABLE',
    /is not writable/,
  )
  probeDataDir(join(root, 'fine'), '.probe') // creatable: no error, no probe left behind
  assert.equal((await stat(join(root, 'fine'))).mode & 0o777, 0o700)
  await assert.rejects(stat(join(root, 'fine', '.probe')), { code: 'ENOENT' })
})
