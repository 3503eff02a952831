import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import crypto, { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { syncBuiltinESMExports } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { mock, type TestContext, test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Database from 'better-sqlite3'
import { GatewayError } from '../../src/errors.ts'
import { createLogger } from '../../src/logger.ts'
import {
  LAST_USED_RESOLUTION_MS,
  MAX_EXPIRES_IN_SEC,
  TOKEN_SCHEMA_VERSION,
  type TokenInfo,
  TokenStore,
} from '../../src/tokens/index.ts'

const T0 = Date.parse('2026-01-02T03:04:05.000Z')
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-tokens-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A store on a fresh temp dir with a settable clock. */
async function openStore(
  t: TestContext,
  start = T0,
): Promise<{ store: TokenStore; dir: string; clock: { ms: number } }> {
  const dir = await tempDir(t)
  const clock = { ms: start }
  const store = TokenStore.open(dir, { now: () => clock.ms })
  t.after(() => store.close())
  return { store, dir, clock }
}

function rawDb(t: TestContext, dir: string): Database.Database {
  const db = new Database(join(dir, 'tokens.db'))
  t.after(() => db.close())
  return db
}

function tokenError(message: string | RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, 'GW_ERR_TOKEN_INVALID')
    assert.equal(err.statusCode, 400)
    if (typeof message === 'string') assert.equal(err.message, message)
    else assert.match(err.message, message)
    return true
  }
}

test('[HA-6] a secret is bgt_ + base64url of 256 random bits, different every time', async (t) => {
  const { store } = await openStore(t)
  const secrets = new Set<string>()
  for (let i = 0; i < 50; i++) {
    const { secret } = store.create({ description: `t${i}`, scope: 'read' })
    assert.match(secret, /^bgt_[A-Za-z0-9_-]{43}$/)
    assert.equal(Buffer.from(secret.slice(4), 'base64url').length, 32)
    assert.ok(TokenStore.isWellFormedSecret(secret))
    secrets.add(secret)
  }
  assert.equal(secrets.size, 50)
  assert.match(TokenStore.generateSecret(), /^bgt_[A-Za-z0-9_-]{43}$/)
})

test('[HA-6] only the SHA-256 of a secret is stored: no column and no byte of the files holds the secret', async (t) => {
  const { store, dir } = await openStore(t)
  const made = [
    store.create({ description: 'first', scope: 'read' }),
    store.create({ description: 'second', scope: 'readwrite', expiresInSec: 60 }),
  ]
  for (const { secret } of made) assert.ok(store.verify(secret).ok)
  const db = rawDb(t, dir)
  const rows = db.prepare('SELECT * FROM tokens').all() as Record<string, unknown>[]
  assert.equal(rows.length, 2)
  for (const { token, secret } of made) {
    const row = rows.find((r) => r['id'] === token.id)
    assert.ok(row)
    assert.deepEqual(row['hash'], createHash('sha256').update(secret).digest())
    const body = secret.slice(4)
    for (const [column, value] of Object.entries(row)) {
      const text = Buffer.isBuffer(value) ? value.toString('latin1') : String(value)
      assert.ok(!text.includes(secret) && !text.includes(body), `column ${column} holds the secret`)
      if (Buffer.isBuffer(value)) assert.ok(!value.equals(Buffer.from(body, 'base64url')), `column ${column}`)
    }
  }
  for (const file of ['tokens.db', 'tokens.db-wal']) {
    const bytes = existsSync(join(dir, file)) ? await readFile(join(dir, file)) : Buffer.alloc(0)
    for (const { secret } of made) {
      assert.ok(!bytes.includes(secret.slice(4)), `${file} holds a secret`)
      assert.ok(!bytes.includes(Buffer.from(secret.slice(4), 'base64url')), `${file} holds a secret's bytes`)
    }
  }
  const columns = (db.prepare('PRAGMA table_info(tokens)').all() as { name: string }[]).map((c) => c.name)
  assert.deepEqual(columns, [
    'id',
    'hash',
    'description',
    'scope',
    'created_at',
    'last_used_at',
    'expires_at',
    'revoked_at',
    'root',
  ])
})

test('[HA-6] verify compares the stored hash with crypto.timingSafeEqual', async (t) => {
  const { store } = await openStore(t)
  const { secret } = store.create({ description: 'x', scope: 'read' })
  const spy = mock.method(crypto, 'timingSafeEqual')
  syncBuiltinESMExports()
  t.after(() => {
    spy.mock.restore()
    syncBuiltinESMExports()
  })
  assert.equal(store.verify(secret).ok, true)
  assert.equal(spy.mock.callCount(), 1)
  const [a, b] = spy.mock.calls[0]!.arguments as [Buffer, Buffer]
  const expected = createHash('sha256').update(secret).digest()
  assert.deepEqual(a, expected)
  assert.deepEqual(b, expected)
})

test('[HA-6] logs name token ids, never secrets', async (t) => {
  const dir = await tempDir(t)
  const lines: string[] = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk))
      done()
    },
  })
  const store = TokenStore.open(dir, { logger: createLogger({ level: 'debug', destination: sink }) })
  t.after(() => store.close())
  const { token, secret } = store.create({ description: 'x', scope: 'read' })
  store.verify(secret)
  store.revoke(token.id)
  store.installRootSecret(TokenStore.generateSecret())
  const all = lines.join('')
  assert.ok(all.includes(token.id))
  assert.ok(!all.includes(secret.slice(4)))
  assert.ok(!all.includes('bgt_'))
})

test('[HA-7] a token has exactly the stored fields, with ISO 8601 UTC times from the clock', async (t) => {
  const { store } = await openStore(t)
  const { token, secret } = store.create({
    description: '  Grafana dashboard  ',
    scope: 'read',
    expiresInSec: 3600,
  })
  assert.deepEqual(Object.keys(token).sort(), [
    'createdAt',
    'description',
    'expiresAt',
    'id',
    'lastUsedAt',
    'revokedAt',
    'root',
    'scope',
  ])
  assert.match(token.id, /^tk_[a-z2-7]{10}$/)
  assert.deepEqual(token, {
    id: token.id,
    description: 'Grafana dashboard',
    scope: 'read',
    createdAt: '2026-01-02T03:04:05.000Z',
    lastUsedAt: null,
    expiresAt: '2026-01-02T04:04:05.000Z',
    revokedAt: null,
    root: false,
  })
  assert.ok(!JSON.stringify(token).includes(secret.slice(4)))
  const forever = store.create({ description: 'no expiry', scope: 'readwrite' }).token
  assert.equal(forever.expiresAt, null)
  for (const info of store.list()) {
    for (const time of [info.createdAt, info.lastUsedAt, info.expiresAt, info.revokedAt])
      if (time !== null) assert.match(time, ISO_UTC)
  }
})

test('create, list (newest first), get and revoke', async (t) => {
  const { store, clock } = await openStore(t)
  const a = store.create({ description: 'a', scope: 'read' }).token
  clock.ms += 1000
  const b = store.create({ description: 'b', scope: 'readwrite' }).token
  const c = store.create({ description: 'c', scope: 'read' }).token // same millisecond as b
  assert.deepEqual(
    store.list().map((x) => x.id),
    [c.id, b.id, a.id],
  )
  assert.deepEqual(store.get(b.id), b)
  assert.equal(store.get('tk_aaaaaaaaaa'), undefined)
  assert.equal(store.get(42 as unknown as string), undefined)

  clock.ms += 5000
  const revoked = store.revoke(b.id)
  assert.equal(revoked?.revokedAt, new Date(clock.ms).toISOString())
  clock.ms += 5000
  assert.deepEqual(store.revoke(b.id), revoked, 'revoking again keeps the first revokedAt')
  assert.equal(store.revoke('tk_unknown00'), undefined)
  assert.deepEqual(store.get(b.id), revoked)
  assert.equal(store.list().length, 3, 'revoked tokens stay listed')
  assert.equal(store.get(a.id)?.revokedAt, null)
})

test('verify: ok, malformed, unknown, revoked and expired (with an injected clock)', async (t) => {
  const { store, clock } = await openStore(t)
  const live = store.create({ description: 'live', scope: 'readwrite' })
  const gone = store.create({ description: 'gone', scope: 'read' })
  const brief = store.create({ description: 'brief', scope: 'read', expiresInSec: 30 })

  const ok = store.verify(live.secret)
  assert.ok(ok.ok)
  assert.equal(ok.token.id, live.token.id)
  assert.equal(ok.token.scope, 'readwrite')

  const good = live.secret
  // the last of 43 characters carries 2 padding bits, which must be 0: B and C never end a canonical secret
  const nonCanonical = good.slice(0, -1) + 'B'
  for (const bad of [
    '',
    'bgt_',
    'secret',
    good.slice(4),
    `xyz_${good.slice(4)}`,
    `${good}A`,
    good.slice(0, -1),
    `${good.slice(0, -1)}=`,
    `${good.slice(0, -2)}+/`,
    ` ${good}`,
    nonCanonical,
    42,
    null,
    undefined,
  ]) {
    assert.deepEqual(store.verify(bad as string), { ok: false, reason: 'malformed' }, String(bad))
  }
  assert.deepEqual(store.verify(TokenStore.generateSecret()), { ok: false, reason: 'unknown' })

  store.revoke(gone.token.id)
  assert.deepEqual(store.verify(gone.secret), { ok: false, reason: 'revoked' })

  clock.ms = T0 + 29_999
  assert.equal(store.verify(brief.secret).ok, true)
  clock.ms = T0 + 30_000
  assert.deepEqual(store.verify(brief.secret), { ok: false, reason: 'expired' })
  clock.ms = T0 + 10 * 86_400_000
  assert.deepEqual(store.verify(brief.secret), { ok: false, reason: 'expired' })
  assert.equal(store.verify(live.secret).ok, true)
})

test('verify writes lastUsedAt at most once per 60 s per token', async (t) => {
  const { store, dir, clock } = await openStore(t)
  const { token, secret } = store.create({ description: 'x', scope: 'read' })
  const other = rawDb(t, dir)
  const dataVersion = (): number => other.pragma('data_version', { simple: true }) as number

  let v = dataVersion()
  const first = store.verify(secret)
  assert.ok(first.ok)
  assert.equal(first.token.lastUsedAt, '2026-01-02T03:04:05.000Z')
  assert.notEqual(dataVersion(), v, 'the first use is written')

  v = dataVersion()
  for (let i = 0; i < 100; i++) {
    clock.ms = T0 + i * 500 // up to 49.5 s later
    const r = store.verify(secret)
    assert.ok(r.ok)
    assert.equal(r.token.lastUsedAt, '2026-01-02T03:04:05.000Z')
  }
  assert.equal(dataVersion(), v, 'no write within the 60 s window')
  assert.equal(store.get(token.id)?.lastUsedAt, '2026-01-02T03:04:05.000Z')

  clock.ms = T0 + LAST_USED_RESOLUTION_MS
  const later = store.verify(secret)
  assert.ok(later.ok)
  assert.equal(later.token.lastUsedAt, '2026-01-02T03:05:05.000Z')
  assert.notEqual(dataVersion(), v)
  assert.equal(store.get(token.id)?.lastUsedAt, '2026-01-02T03:05:05.000Z')
})

test('two stores on one file: revocations and new tokens count at once in the other (CLI while the gateway runs)', async (t) => {
  const { store: gateway, dir, clock } = await openStore(t)
  const cli = TokenStore.open(dir, { now: () => clock.ms })
  t.after(() => cli.close())

  const made = cli.create({ description: 'made by the CLI', scope: 'readwrite' })
  assert.equal(gateway.verify(made.secret).ok, true)
  assert.deepEqual(
    gateway.list().map((x) => x.id),
    [made.token.id],
  )

  for (let i = 0; i < 3; i++) assert.equal(gateway.verify(made.secret).ok, true)
  cli.revoke(made.token.id)
  assert.deepEqual(gateway.verify(made.secret), { ok: false, reason: 'revoked' })

  const back = gateway.create({ description: 'made by the gateway', scope: 'read' })
  assert.equal(cli.verify(back.secret).ok, true)
  gateway.revoke(back.token.id)
  assert.deepEqual(cli.verify(back.secret), { ok: false, reason: 'revoked' })

  // the last-used window is shared through the file, not kept per process
  const shared = gateway.create({ description: 'shared', scope: 'read' })
  assert.ok(gateway.verify(shared.secret).ok)
  clock.ms += 10_000
  const seen = cli.verify(shared.secret)
  assert.ok(seen.ok)
  assert.equal(seen.token.lastUsedAt, new Date(clock.ms - 10_000).toISOString())
})

test('scope admin is only for the root token; installRootSecret keeps a single active root token', async (t) => {
  const { store } = await openStore(t)
  assert.throws(
    () => store.create({ description: 'x', scope: 'admin' }),
    tokenError(
      'Expected `scope` to be read or readwrite, got `admin` (string) (admin belongs to the root token only)',
    ),
  )
  assert.throws(
    () => store.create({ description: 'x', scope: 'admin', root: false }),
    tokenError(/^Expected `scope` to be read or readwrite, got `admin`/),
  )
  const root = store.create({ description: 'root', scope: 'admin', root: true })
  assert.equal(root.token.scope, 'admin')
  assert.equal(root.token.root, true)
  assert.equal(store.verify(root.secret).ok, true)

  const secret = TokenStore.generateSecret()
  const installed = store.installRootSecret(secret)
  assert.equal(installed.root, true)
  assert.equal(installed.scope, 'admin')
  assert.equal(installed.description, 'root token')
  assert.deepEqual(store.verify(root.secret), { ok: false, reason: 'revoked' })
  assert.equal(store.verify(secret).ok, true)
  assert.deepEqual(
    store
      .list()
      .filter((x) => x.root && x.revokedAt === null)
      .map((x) => x.id),
    [installed.id],
  )
  assert.throws(() => store.installRootSecret(secret), tokenError(/already registered/))
  assert.throws(() => store.installRootSecret('bgt_nope'), tokenError(/Expected the root secret/))
})

test('create validates its fields eagerly, with "expected … got …" messages', async (t) => {
  const { store } = await openStore(t)
  const cases: [unknown, string | RegExp][] = [
    [{ description: 'x', scope: 'x' }, 'Expected `scope` to be read or readwrite, got `x` (string)'],
    [{ description: 'x' }, 'Expected `scope` to be read or readwrite, got nothing'],
    [
      { description: 'x', scope: 'root', root: true },
      'Expected `scope` to be read, readwrite or admin, got `root` (string)',
    ],
    [{ scope: 'read' }, 'Expected `description` to be a string of 1 to 200 characters, got nothing'],
    [
      { description: 7, scope: 'read' },
      'Expected `description` to be a string of 1 to 200 characters, got `7` (number)',
    ],
    [
      { description: '   ', scope: 'read' },
      'Expected `description` to be a string of 1 to 200 characters once trimmed, got `   ` (string) of 0 characters once trimmed',
    ],
    [
      { description: 'y'.repeat(201), scope: 'read' },
      /got `y{57}\.\.\.` \(string\) of 201 characters once trimmed$/,
    ],
    [
      { description: 'x', scope: 'read', expiresInSec: 0 },
      `Expected \`expiresInSec\` to be a positive integer of at most ${MAX_EXPIRES_IN_SEC} (seconds), got \`0\` (number)`,
    ],
    [{ description: 'x', scope: 'read', expiresInSec: -5 }, /got `-5` \(number\)$/],
    [{ description: 'x', scope: 'read', expiresInSec: 1.5 }, /got `1\.5` \(number\)$/],
    [{ description: 'x', scope: 'read', expiresInSec: '60' }, /got `60` \(string\)$/],
    [
      { description: 'x', scope: 'read', expiresInSec: MAX_EXPIRES_IN_SEC + 1 },
      /got `3153600001` \(number\)$/,
    ],
    [{ description: 'x', scope: 'read', root: 'yes' }, 'Expected `root` to be a boolean, got `yes` (string)'],
    [null, 'Expected the token options to be an object, got `null` (null)'],
  ]
  for (const [input, message] of cases)
    assert.throws(() => store.create(input as Parameters<TokenStore['create']>[0]), tokenError(message))
  assert.deepEqual(store.list(), [], 'nothing was stored')

  const longest = store.create({
    description: ` ${'z'.repeat(200)} `,
    scope: 'read',
    expiresInSec: MAX_EXPIRES_IN_SEC,
  })
  assert.equal(longest.token.description, 'z'.repeat(200))
  assert.match(longest.token.expiresAt!, ISO_UTC)
})

test('open creates the data dir (0700) and tokens.db (0600) in WAL mode with a schema version', async (t) => {
  const base = await tempDir(t)
  const dir = join(base, 'nested', 'data')
  const store = TokenStore.open(dir)
  t.after(() => store.close())
  assert.equal(store.path, join(dir, 'tokens.db'))
  assert.equal((await stat(dir)).mode & 0o777, 0o700)
  assert.equal((await stat(store.path)).mode & 0o777, 0o600)
  store.create({ description: 'x', scope: 'read' })
  if (existsSync(`${store.path}-wal`)) assert.equal((await stat(`${store.path}-wal`)).mode & 0o777, 0o600)
  const db = rawDb(t, dir)
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  assert.equal(db.pragma('user_version', { simple: true }), TOKEN_SCHEMA_VERSION)
  assert.throws(
    () =>
      db
        .prepare(
          "INSERT INTO tokens (id, hash, description, scope, created_at) VALUES ('tk_x', ?, 'd', 'god', 'now')",
        )
        .run(Buffer.alloc(32)),
    /CHECK constraint failed/,
  )
})

test('open refuses a newer schema and a file that is not a database; a closed store refuses calls', async (t) => {
  const dir = await tempDir(t)
  TokenStore.open(dir).close()
  const db = new Database(join(dir, 'tokens.db'))
  db.pragma('user_version = 99')
  db.close()
  assert.throws(
    () => TokenStore.open(dir),
    (err: unknown) => {
      assert.ok(err instanceof GatewayError)
      assert.equal(err.code, 'GW_ERR_TOKEN_STORE')
      assert.match(err.message, /schema version 99, newer than this Bundlegate knows \(1\)/)
      return true
    },
  )

  const junk = await tempDir(t)
  await writeFile(
    join(junk, 'tokens.db'),
    'this is not a database, just some text long enough to have a header....',
  )
  assert.throws(
    () => TokenStore.open(junk),
    (err: unknown) =>
      err instanceof GatewayError && err.code === 'GW_ERR_TOKEN_STORE' && err.message.includes(junk),
  )

  const fresh = TokenStore.open(await tempDir(t))
  fresh.close()
  fresh.close()
  assert.throws(() => fresh.list(), /GW_ERR_TOKEN_STORE|is closed/)
  assert.throws(
    () => fresh.verify(TokenStore.generateSecret()),
    (err: unknown) => err instanceof GatewayError && err.code === 'GW_ERR_TOKEN_STORE',
  )
})

/** Creates (and sometimes revokes) tokens in a loop, printing each once its transaction returned. */
const CHILD = `
const { TokenStore } = await import(process.env.BG_TOKENS_MODULE)
const store = TokenStore.open(process.env.BG_TOKENS_DIR)
process.stdout.write('ready\\n')
for (let i = 0; ; i++) {
  const { token, secret } = store.create({ description: 'crash ' + process.pid + ' ' + i, scope: i % 2 ? 'read' : 'readwrite', expiresInSec: 3600 })
  process.stdout.write('c ' + secret + '\\n')
  if (!store.verify(secret).ok) throw new Error('own token refused')
  if (i % 3 === 2) {
    store.revoke(token.id)
    process.stdout.write('r ' + secret + '\\n')
  }
}
`

function runUntilKilled(dir: string, delayMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      ['--conditions=bundlegate-dev', '--import', 'tsx', '--input-type=module', '-e', CHILD],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          BG_TOKENS_DIR: dir,
          BG_TOKENS_MODULE: pathToFileURL(join(REPO_ROOT, 'src/tokens/index.ts')).href,
        },
      },
    )
    let out = ''
    let err = ''
    let timer: NodeJS.Timeout | undefined
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      if (timer === undefined && out.startsWith('ready\n'))
        timer = setTimeout(() => child.kill('SIGKILL'), delayMs)
    })
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk
    })
    const guard = setTimeout(() => child.kill('SIGKILL'), 8000)
    child.once('error', reject)
    child.once('exit', (_code, signal) => {
      clearTimeout(timer)
      clearTimeout(guard)
      if (signal !== 'SIGKILL' || !out.startsWith('ready\n')) {
        reject(new Error(`child ended with ${signal ?? _code} before being killed: ${err}`))
        return
      }
      const lines = out.split('\n')
      lines.pop() // an unterminated last line was not reported completely
      resolve(lines.slice(1))
    })
  })
}

test('crash safety: a child creating tokens killed with SIGKILL again and again leaves a sound database', async (t) => {
  const dir = await tempDir(t)
  const created = new Set<string>()
  const revoked = new Set<string>()
  const started = Date.now()
  let kills = 0
  while (kills < 10 || (kills < 20 && Date.now() - started < 6000)) {
    const lines = await runUntilKilled(dir, 20 + Math.floor(Math.random() * 120))
    kills++
    for (const line of lines) {
      const [kind, secret] = line.split(' ') as [string, string]
      if (kind === 'c') created.add(secret)
      else if (kind === 'r') revoked.add(secret)
      else assert.fail(`unexpected line ${line}`)
    }
    const db = new Database(join(dir, 'tokens.db'))
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', `after kill ${kills}`)
    } finally {
      db.close()
    }
    const store = TokenStore.open(dir)
    try {
      for (const secret of created) {
        const r = store.verify(secret)
        if (revoked.has(secret)) assert.deepEqual(r, { ok: false, reason: 'revoked' })
        else assert.ok(r.ok || r.reason === 'revoked', `token lost after kill ${kills}: ${JSON.stringify(r)}`)
      }
    } finally {
      store.close()
    }
  }
  assert.ok(kills >= 10)
  assert.ok(created.size > 0, 'the child committed tokens')
  const store = TokenStore.open(dir)
  t.after(() => store.close())
  const listed = new Set(store.list().map((x: TokenInfo) => x.id))
  assert.ok(listed.size >= created.size)
  t.diagnostic(
    `${kills} kills, ${created.size} tokens reported, ${listed.size} stored, ${Date.now() - started} ms`,
  )
})
