import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { type TestContext, test } from 'node:test'
import { GatewayError } from '../../src/errors.ts'
import { createLogger } from '../../src/logger.ts'
import {
  adoptRootToken,
  defaultTokenFilePath,
  ETC_TOKEN_FILE,
  ensureRootToken,
  rotateRootToken,
  TokenStore,
} from '../../src/tokens/index.ts'

const SECRET_LINE = /^bgt_[A-Za-z0-9_-]{43}\n$/

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-root-token-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function setup(t: TestContext): Promise<{ dir: string; file: string; store: TokenStore }> {
  const dir = await tempDir(t)
  const store = TokenStore.open(dir)
  t.after(() => store.close())
  return { dir, file: join(dir, 'mx-api-token'), store }
}

const secretIn = async (file: string): Promise<string> => (await readFile(file, 'utf8')).trimEnd()
const modeOf = async (file: string): Promise<number> => (await stat(file)).mode & 0o777
const activeRoots = (store: TokenStore): string[] =>
  store
    .list()
    .filter((x) => x.root && x.revokedAt === null)
    .map((x) => x.id)

function fileError(path: string, what: 'read' | 'written', os: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, 'GW_ERR_TOKEN_FILE')
    assert.equal(err.statusCode, 500)
    assert.ok(err.message.startsWith(`Root token file ${path} cannot be ${what}: `), err.message)
    assert.match(err.message, os)
    return true
  }
}

test('[HA-8] defaultTokenFilePath prefers the etc path when it is writable, else <dataDir>/mx-api-token', async (t) => {
  const base = await tempDir(t)
  const etc = join(base, 'etc')
  await mkdir(etc)
  const etcFile = join(etc, 'mx-api-token')
  const dataDir = join(base, 'data')
  assert.equal(ETC_TOKEN_FILE, '/etc/mx-api-token')

  assert.equal(defaultTokenFilePath(dataDir, etcFile), etcFile, 'missing file in a writable directory')
  await writeFile(etcFile, 'x', { mode: 0o600 })
  assert.equal(defaultTokenFilePath(dataDir, etcFile), etcFile, 'existing writable file')
  assert.equal(
    defaultTokenFilePath(dataDir, join(base, 'no-such-etc', 'mx-api-token')),
    join(dataDir, 'mx-api-token'),
    'directory missing',
  )
  assert.equal(
    defaultTokenFilePath(dataDir, join(etcFile, 'mx-api-token')),
    join(dataDir, 'mx-api-token'),
    'parent is a file',
  )
  const real = defaultTokenFilePath(dataDir)
  assert.ok(
    [ETC_TOKEN_FILE, join(dataDir, 'mx-api-token')].includes(real),
    'the real default is one of the two',
  )
})

test('[HA-8] defaultTokenFilePath falls back when the file or /etc is not writable (non-root only)', async (t) => {
  if (process.getuid?.() === 0) {
    t.skip('root may write anything; permission bits cannot be tested')
    return
  }
  const base = await tempDir(t)
  const etc = join(base, 'etc')
  await mkdir(etc)
  const etcFile = join(etc, 'mx-api-token')
  await writeFile(etcFile, 'x')
  await chmod(etcFile, 0o400)
  assert.equal(defaultTokenFilePath(base, etcFile), join(base, 'mx-api-token'), 'read-only file')
  await rm(etcFile)
  await chmod(etc, 0o500)
  try {
    assert.equal(defaultTokenFilePath(base, etcFile), join(base, 'mx-api-token'), 'read-only directory')
  } finally {
    await chmod(etc, 0o700)
  }
})

test('[HA-8] ensureRootToken creates the file: mode 0600, exactly one line, an active root admin secret', async (t) => {
  const { dir, file, store } = await setup(t)
  const result = await ensureRootToken(store, file)
  assert.equal(result.created, true)
  assert.equal(result.path, file)
  assert.equal(result.token.root, true)
  assert.equal(result.token.scope, 'admin')
  const text = await readFile(file, 'utf8')
  assert.match(text, SECRET_LINE)
  assert.equal(text.split('\n').length, 2)
  assert.equal(await modeOf(file), 0o600)
  const verified = store.verify(text.trim())
  assert.ok(verified.ok)
  assert.equal(verified.token.id, result.token.id)
  assert.deepEqual(activeRoots(store), [result.token.id])
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file left',
  )
})

test('[HA-8] the root token file is kept across restarts', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'mx-api-token')
  const first = TokenStore.open(dir)
  const created = await ensureRootToken(first, file)
  first.close()
  const before = await readFile(file, 'utf8')
  const mtime = (await stat(file)).mtimeMs

  const second = TokenStore.open(dir)
  t.after(() => second.close())
  const kept = await ensureRootToken(second, file)
  assert.equal(kept.created, false)
  assert.equal(kept.token.id, created.token.id)
  assert.equal(await readFile(file, 'utf8'), before)
  assert.equal((await stat(file)).mtimeMs, mtime, 'not rewritten')
  assert.deepEqual(activeRoots(second), [created.token.id])
})

function foreign(path: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, 'GW_ERR_TOKEN_FILE_FOREIGN')
    assert.ok(
      err.message.startsWith(`Root token file ${path} holds a token this gateway did not issue`),
      err.message,
    )
    assert.match(err.message, /--token-file.*adopt-root/)
    return true
  }
}

test('[HA-8] issue 12: a secret this store did not issue (another install, or a deleted database) is neither adopted nor overwritten; adoptRootToken takes it over', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'mx-api-token')
  const first = TokenStore.open(dir)
  await ensureRootToken(first, file)
  first.close()
  const before = await readFile(file, 'utf8')
  for (const f of ['tokens.db', 'tokens.db-wal', 'tokens.db-shm']) await rm(join(dir, f), { force: true })

  const store = TokenStore.open(dir)
  t.after(() => store.close())
  await assert.rejects(ensureRootToken(store, file), foreign(file))
  assert.equal(await readFile(file, 'utf8'), before, 'the file is left alone')
  assert.deepEqual(store.list(), [], 'and nothing is registered')
  assert.deepEqual(store.verify(before.trim()), { ok: false, reason: 'unknown' })

  // the user decides it is this gateway's after all
  const adopted = await adoptRootToken(store, file)
  assert.equal(adopted.root, true)
  const kept = await ensureRootToken(store, file)
  assert.equal(kept.created, false)
  assert.equal(kept.token.id, adopted.id)
  assert.equal(await readFile(file, 'utf8'), before, 'the user keeps the secret they have')
  await assert.rejects(adoptRootToken(store, file), /already this gateway's/)

  // a secret put there by hand counts the same way: refused, then adopted; a loose mode is tightened
  const own = TokenStore.generateSecret()
  await writeFile(file, `${own}\n`, { mode: 0o644 })
  await chmod(file, 0o644)
  await assert.rejects(ensureRootToken(store, file), foreign(file))
  await adoptRootToken(store, file)
  assert.ok(store.verify(own).ok)
  assert.deepEqual(store.verify(before.trim()), { ok: false, reason: 'revoked' }, 'one root token at a time')
  assert.equal(await modeOf(file), 0o600)
})

test('[HA-8] issue 12: a file that is not a Bundlegate secret at all (the original ThingsPro token, garbage) is refused and kept as it is', async (t) => {
  const { file, store } = await setup(t)
  const secret = TokenStore.generateSecret()
  for (const content of [
    'garbage\n',
    'a3f9c2d1e4b5a6978877665544332211\n',
    `${secret}x\n`,
    `${secret}\n${secret}\n`,
  ]) {
    await writeFile(file, content)
    await assert.rejects(ensureRootToken(store, file), foreign(file), JSON.stringify(content))
    assert.equal(await readFile(file, 'utf8'), content)
    await assert.rejects(adoptRootToken(store, file), /holds no Bundlegate root secret/)
  }
  assert.deepEqual(store.list(), [])
})

test('[HA-8] a revoked, empty or non-root secret of this store in the file is replaced by a new root token', async (t) => {
  const { file, store } = await setup(t)
  const first = await ensureRootToken(store, file)
  const firstSecret = await secretIn(file)
  store.revoke(first.token.id)

  const replaced = await ensureRootToken(store, file)
  assert.equal(replaced.created, true)
  const secret = await secretIn(file)
  assert.notEqual(secret, firstSecret)
  assert.ok(store.verify(secret).ok)
  assert.deepEqual(store.verify(firstSecret), { ok: false, reason: 'revoked' })
  assert.equal(await modeOf(file), 0o600)

  for (const content of ['', '\n', ' \n\n']) {
    await writeFile(file, content)
    const r = await ensureRootToken(store, file)
    assert.equal(r.created, true, JSON.stringify(content))
    assert.match(await readFile(file, 'utf8'), SECRET_LINE)
    assert.deepEqual(activeRoots(store), [r.token.id])
  }
  assert.deepEqual(
    store.verify(secret),
    { ok: false, reason: 'revoked' },
    'the replaced root token is revoked',
  )

  const reader = store.create({ description: 'reader', scope: 'read' })
  await writeFile(file, `${reader.secret}\n`)
  const r = await ensureRootToken(store, file)
  assert.equal(r.created, true)
  assert.notEqual(await secretIn(file), reader.secret)
  assert.ok(store.verify(reader.secret).ok, 'a non-root token is not revoked')
})

test('[HA-8] an expired root token in the file is replaced', async (t) => {
  const dir = await tempDir(t)
  const clock = { ms: Date.parse('2026-01-01T00:00:00Z') }
  const store = TokenStore.open(dir, { now: () => clock.ms })
  t.after(() => store.close())
  const file = join(dir, 'mx-api-token')
  const old = store.create({ description: 'old root', scope: 'admin', root: true, expiresInSec: 60 })
  await writeFile(file, `${old.secret}\n`, { mode: 0o600 })
  clock.ms += 60_000
  const r = await ensureRootToken(store, file)
  assert.equal(r.created, true)
  assert.notEqual(await secretIn(file), old.secret)
  assert.equal(r.token.expiresAt, null)
  assert.deepEqual(activeRoots(store), [r.token.id])
})

test('[HA-8] rotateRootToken revokes the old root secret at once and writes a new one (0600)', async (t) => {
  const { dir, file, store } = await setup(t)
  const before = await ensureRootToken(store, file)
  const oldSecret = await secretIn(file)
  const other = TokenStore.open(dir) // e.g. the gateway, while the CLI rotates
  t.after(() => other.close())
  assert.ok(other.verify(oldSecret).ok)

  const rotated = await rotateRootToken(store, file)
  assert.equal(rotated.path, file)
  assert.notEqual(rotated.token.id, before.token.id)
  const newSecret = await secretIn(file)
  assert.match(await readFile(file, 'utf8'), SECRET_LINE)
  assert.equal(await modeOf(file), 0o600)
  assert.deepEqual(other.verify(oldSecret), { ok: false, reason: 'revoked' })
  const verified = other.verify(newSecret)
  assert.ok(verified.ok)
  assert.equal(verified.token.id, rotated.token.id)
  assert.deepEqual(activeRoots(store), [rotated.token.id])
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.endsWith('.tmp')),
    [],
  )
})

test('GW_ERR_TOKEN_FILE names the path and the OS error; a failed write changes nothing', async (t) => {
  const { dir, file, store } = await setup(t)
  const missing = join(dir, 'no-such-dir', 'mx-api-token')
  await assert.rejects(ensureRootToken(store, missing), fileError(missing, 'written', /ENOENT/))
  assert.deepEqual(store.list(), [], 'no root token whose secret went nowhere')

  await ensureRootToken(store, file)
  const secret = await secretIn(file)
  const blocked = join(file, 'mx-api-token') // the parent is a file
  await assert.rejects(rotateRootToken(store, blocked), fileError(blocked, 'written', /ENOTDIR/))
  assert.ok(store.verify(secret).ok, 'the old root token still works')
  assert.equal(await secretIn(file), secret)

  const directory = join(dir, 'a-directory')
  await mkdir(directory)
  await assert.rejects(ensureRootToken(store, directory), fileError(directory, 'read', /EISDIR/))
})

test('[HA-8] logs name the path, never the secret', async (t) => {
  const { file, store } = await setup(t)
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const logger = createLogger({ level: 'debug', destination: sink })
  await ensureRootToken(store, file, { logger })
  await ensureRootToken(store, file, { logger })
  await rotateRootToken(store, file, { logger })
  const all = lines.join('')
  assert.ok(all.includes(file))
  assert.ok(!all.includes((await secretIn(file)).slice(4)))
  assert.ok(!all.includes('bgt_'))
})
