/**
 * Disk full and read-only data directories (issue 4): the token store and a bundle's ConfigStore on a real, small
 * tmpfs that the test fills to the last byte, remounts read-only, and frees again. Real gateway, real HTTP, the
 * example bundle as a real process. Skipped (with the reason) where the kernel refuses to mount; see small-fs.ts.
 */
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { loadConfig } from '../../src/config/index.ts'
import { type Gateway, startGateway } from '../../src/server.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo, logSink, startTestGateway } from '../helpers/gateway.ts'
import { EXAMPLE_SOURCE_DIR, freePort, spawnExample } from '../helpers/processes.ts'
import { smallFsOrSkip } from './small-fs.ts'

const TEST_TIMEOUT_MS = 60_000

async function gatewayOn(dataDir: string, logger?: Gateway['logger']): Promise<Gateway> {
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
      log: { level: 'silent' },
    },
  })
  return startGateway(config, logger ? { logger } : {})
}

interface Answer {
  status: number
  body: Record<string, unknown>
}

async function call(
  gw: Gateway,
  token: string,
  method: string,
  path: string,
  data?: unknown,
): Promise<Answer> {
  const res = await fetch(`${gw.httpUrl}/api/v1${path}`, {
    method,
    headers: {
      'mx-api-token': token,
      ...(data === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(data === undefined ? {} : { body: JSON.stringify(data) }),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) }
}

function integrityCheck(file: string): { integrity: string; ids: string[] } {
  const db = new Database(file, { readonly: true })
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string
    const ids = (db.prepare('SELECT id FROM tokens ORDER BY id').pluck().all() as string[]).sort()
    return { integrity, ids }
  } finally {
    db.close()
  }
}

test('token store on a full disk: creating a token answers 507 GW_ERR_TOKEN_STORE_FULL, existing tokens keep working, writes resume when space is back, the DB passes integrity_check', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const defer = lifo(t)
  const fs = await smallFsOrSkip(t, 4 * 1024 * 1024)
  if (!fs) return
  defer(() => fs.close())
  const dataDir = join(fs.dir, 'gateway')
  const sink = logSink('warn')
  let gw = await gatewayOn(dataDir, sink.logger)
  let current = gw
  defer(() => current.close())
  const root = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()
  const dbFile = join(dataDir, 'tokens.db')

  const issued = new Map<string, string>() // id → secret, every token the API said it created
  const create = async (description: string) => {
    const r = await call(gw, root, 'POST', '/tokens', { description, scope: 'read' })
    if (r.status === 201) issued.set(String(r.body.id), String(r.body.token))
    return r
  }
  assert.equal((await create('before the fill')).status, 201)
  const toRevoke = await create('revoked while the disk is full')
  assert.equal(toRevoke.status, 201)
  const [readId, readSecret] = [...issued][0]!

  const filled = fs.fill()
  t.diagnostic(`tmpfs filled with ${(filled / 1024).toFixed(0)} KiB of filler (ENOSPC)`)

  // SQLite may still fit a commit or two into pages it already owns (the WAL); the first refused one must be 507.
  let refused: Answer | undefined
  let acceptedAfterFill = 0
  for (let i = 0; i < 50 && refused === undefined; i++) {
    const r = await create(`during the fill ${i}`)
    if (r.status === 201) acceptedAfterFill++
    else refused = r
  }
  t.diagnostic(`token creations that still fitted after the fill: ${acceptedAfterFill}`)
  assert.ok(refused, 'no creation refused after 50 attempts on a full disk')
  assert.equal(refused.status, 507)
  assert.equal(refused.body.code, 'GW_ERR_TOKEN_STORE_FULL')
  assert.match(String(refused.body.message), /no space left on the device/)
  assert.match(String(refused.body.message), /tokens\.db/)
  assert.equal(refused.body.stack, undefined)
  for (let i = 0; i < 5; i++) {
    const again = await create(`still full ${i}`)
    assert.equal(again.status, 507, 'every creation is refused while the disk is full')
  }

  const revoke = await call(gw, root, 'DELETE', `/tokens/${String(toRevoke.body.id)}`)
  assert.equal(revoke.status, 507, 'a revocation that cannot be stored is refused, not half done')
  assert.equal(revoke.body.code, 'GW_ERR_TOKEN_STORE_FULL')

  // What can be served still is: authentication (read-only), listings, /health.
  assert.equal((await call(gw, readSecret, 'GET', '/tokens')).status, 403, 'a read token is still known')
  const listed = await call(gw, root, 'GET', '/tokens')
  assert.equal(listed.status, 200)
  const health = await fetch(`${gw.httpUrl}/health`)
  assert.equal(health.status, 200)
  const stillActive = (listed.body as unknown as Array<{ id: string; revokedAt: string | null }>).find(
    (x) => x.id === toRevoke.body.id,
  )
  assert.equal(stillActive?.revokedAt, null, 'the refused revocation left the token active')
  assert.ok(
    sink.lines.some((l) => l.level === 50 && String(l.msg).includes('token store cannot be written')),
    'the failure is logged as an error',
  )

  await fs.free()
  const freedAt = performance.now()
  const after = await create('after space is back')
  t.diagnostic(`space freed → first 201: ${(performance.now() - freedAt).toFixed(1)} ms`)
  assert.equal(after.status, 201)
  assert.equal((await call(gw, root, 'DELETE', `/tokens/${String(toRevoke.body.id)}`)).status, 204)

  await gw.close()
  const check = integrityCheck(dbFile)
  assert.equal(check.integrity, 'ok')
  const rootId = check.ids.find((id) => !issued.has(id))
  assert.deepEqual(
    check.ids.filter((id) => id !== rootId),
    [...issued.keys()].sort(),
    'the database holds exactly the root token and the tokens the API reported as created',
  )

  gw = await gatewayOn(dataDir)
  current = gw
  assert.equal(
    (await call(gw, readSecret, 'GET', '/tokens')).status,
    403,
    `${readId} verifies after a restart`,
  )
  assert.equal((await call(gw, String(after.body.token), 'GET', '/tokens')).status, 403)
  assert.equal((await call(gw, String(toRevoke.body.token), 'GET', '/tokens')).status, 401, 'revoked')
})

test('ConfigStore of a bundle process on a full, then read-only disk: PUT answers an error, the bundle keeps running, the previous file stays intact and loadable', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const defer = lifo(t)
  const fs = await smallFsOrSkip(t, 1024 * 1024)
  if (!fs) return
  defer(() => fs.close())
  const dir = join(fs.dir, 'example')
  await mkdir(join(dir, 'data'), { recursive: true })
  await copyFile(join(EXAMPLE_SOURCE_DIR, 'bundle.json'), join(dir, 'bundle.json'))
  await copyFile(
    join(EXAMPLE_SOURCE_DIR, 'data', 'example.json.factory'),
    join(dir, 'data', 'example.json.factory'),
  )
  const file = join(dir, 'data', 'example.json')
  const gw = await startTestGateway()
  defer(() => gw.close())
  const bundle = spawnExample({ brokerUrl: gw.brokerUrl, dir })
  defer(() => bundle.stop())
  await bundle.ready
  const put = (data: unknown) => call(gw, gw.rootToken, 'PUT', '/example', data)
  const get = () => call(gw, gw.rootToken, 'GET', '/example')

  assert.equal((await put({ key: 'saved' })).status, 200)
  const saved = await readFile(file, 'utf8')
  assert.deepEqual(JSON.parse(saved), { key: 'saved' })

  fs.fill()
  const big = { key: 'x'.repeat(8192) }
  for (let i = 0; i < 10; i++) {
    const r = await put({ ...big, i })
    assert.equal(r.status, 500, `PUT ${i} on a full disk answers an error`)
    assert.equal(r.body.code, 'GW_ERR_STORE_WRITE', 'the cause reaches the caller')
    assert.match(String(r.body.message), /ENOSPC/)
    assert.equal(r.body.traceback, undefined)
    assert.equal(await readFile(file, 'utf8'), saved, 'the previous file is intact')
  }
  assert.equal(bundle.child.exitCode, null, 'the bundle process is still running')
  assert.match(bundle.output(), /GW_ERR_STORE_WRITE/, 'the bundle logs the store error')
  assert.match(bundle.output(), /ENOSPC/, 'and its cause')
  const during = await get()
  assert.equal(during.status, 200)
  assert.deepEqual(during.body, { key: 'saved' }, 'GET serves what is on disk, not the refused value')
  assert.deepEqual(
    (await readdir(join(dir, 'data'))).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file is left behind',
  )

  await fs.free()
  const freedAt = performance.now()
  assert.equal((await put({ key: 'after space is back' })).status, 200)
  t.diagnostic(`space freed → first PUT 200: ${(performance.now() - freedAt).toFixed(1)} ms`)
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { key: 'after space is back' })

  // Read-only: the bundle holds no file of the mount open for writing, so the kernel lets us remount it.
  const before = await readFile(file, 'utf8')
  await fs.readOnly()
  const refused = await put({ key: 'on a read-only disk' })
  assert.equal(refused.status, 500)
  assert.match(bundle.output(), /EROFS/)
  assert.equal(await readFile(file, 'utf8'), before)
  assert.deepEqual((await get()).body, { key: 'after space is back' })
  await fs.writable()
  const writableAt = performance.now()
  assert.equal((await put({ key: 'writable again' })).status, 200)
  t.diagnostic(`remounted rw → first PUT 200: ${(performance.now() - writableAt).toFixed(1)} ms`)

  // The file the bundle left is one a fresh start loads as it is.
  await bundle.stop()
  const again = spawnExample({ brokerUrl: gw.brokerUrl, dir })
  defer(() => again.stop())
  await again.ready
  assert.deepEqual((await get()).body, { key: 'writable again' })
  assert.doesNotMatch(again.output(), /recovered from|broken/, 'the file loaded as it was (status existing)')
})

test('a gateway started on a read-only data directory stops with GW_ERR_DATA_DIR_UNWRITABLE, no stack trace', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const defer = lifo(t)
  const fs = await smallFsOrSkip(t, 1024 * 1024)
  if (!fs) return
  defer(() => fs.close())
  const withDb = join(fs.dir, 'with-db')
  const first = await gatewayOn(withDb)
  await first.close()
  const empty = join(fs.dir, 'empty')
  await mkdir(empty)
  await fs.readOnly()

  for (const [label, dataDir] of [
    ['an empty directory', empty],
    ['a directory with a token database', withDb],
    ['a directory still to be created', join(fs.dir, 'missing', 'sub')],
  ] as const) {
    const run = await runCli([
      'start',
      '--data-dir',
      dataDir,
      '--token-file',
      join(dataDir, 'mx-api-token'),
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(await freePort()),
      '--broker-host',
      '127.0.0.1',
      '--broker-port',
      String(await freePort()),
      '--log-level',
      'silent',
    ])
    t.diagnostic(`${label}: ${run.stderr.trim()}`)
    assert.equal(run.code, 1, label)
    assert.match(run.stderr, /GW_ERR_DATA_DIR_UNWRITABLE/, label)
    assert.ok(run.stderr.includes(dataDir), `${label}: the message names the directory`)
    assert.doesNotMatch(run.stderr, /\n\s+at /, `${label}: no stack trace`)
    assert.equal(run.stderr.trim().split('\n').length, 1, `${label}: one line`)
    if (dataDir === empty) assert.match(run.stderr, /read-only file system \(EROFS\)/)
  }
})

test('a data directory the gateway may not write (no tmpfs needed): clear start-up error', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  // A regular file where the data directory should be: refused by every user, root included.
  const defer = lifo(t)
  const root = await mkdtemp(join(tmpdir(), 'bg-datadir-'))
  defer(() => rm(root, { recursive: true, force: true }))
  const notADir = join(root, 'file')
  await copyFile(join(EXAMPLE_SOURCE_DIR, 'bundle.json'), notADir)
  const run = await runCli([
    'start',
    '--data-dir',
    join(notADir, 'data'),
    '--token-file',
    join(root, 'mx-api-token'),
    '--http-port',
    String(await freePort()),
    '--broker-port',
    String(await freePort()),
    '--log-level',
    'silent',
  ])
  t.diagnostic(run.stderr.trim())
  assert.equal(run.code, 1)
  assert.match(run.stderr, /GW_ERR_DATA_DIR_UNWRITABLE/)
  assert.match(run.stderr, /ENOTDIR/)
  assert.doesNotMatch(run.stderr, /\n\s+at /)
})
