/**
 * The file store on a real directory (issue 16): what a crash can leave behind is removed at open, complete files
 * are kept; uploads nobody keeps expire (24 h by default) and are swept; the sweep timer is unref'd and stops on close.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { DEFAULTS } from '../../src/config/index.ts'
import { FileStore, fileNameProblem } from '../../src/files/index.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'

const LIMITS = { maxFileBytes: 1_000_000, quotaBytes: 2_000_000, expirySec: 86_400, sweepSec: 600 }

test('the files defaults: 256 MiB per file, 512 MiB quota, 24 h expiry', () => {
  assert.equal(DEFAULTS.files.maxFileBytes, 256 * 1024 * 1024)
  assert.equal(DEFAULTS.files.quotaBytes, 512 * 1024 * 1024)
  assert.equal(DEFAULTS.files.expirySec, 24 * 3600)
})

test('open removes partial uploads, orphans and half-written metadata, and keeps complete files', async (t) => {
  const after = lifo(t)
  const dir = join(await mkdtemp(join(tmpdir(), 'bg-store-')), 'files')
  after(() => rm(join(dir, '..'), { recursive: true, force: true }))
  const first = await FileStore.open(dir, LIMITS)
  const kept = await first.write(Readable.from([Buffer.from('kept')]), {
    name: 'kept.txt',
    type: 'text/plain',
  })
  await first.close()
  const orphan = 'a'.repeat(32)
  const noData = 'b'.repeat(32)
  const wrongSize = 'c'.repeat(32)
  await writeFile(join(dir, 'tmp', `${'d'.repeat(32)}.part`), 'partial')
  await writeFile(join(dir, `${orphan}.data`), 'data without metadata')
  await writeFile(join(dir, `${noData}.json`), JSON.stringify({ ...kept, id: noData }))
  await writeFile(join(dir, `${wrongSize}.data`), 'x')
  await writeFile(join(dir, `${wrongSize}.json`), JSON.stringify({ ...kept, id: wrongSize, size: 99 }))
  await writeFile(join(dir, `.${kept.id}.json.123.abc.tmp`), '{"half')
  await writeFile(join(dir, `${'e'.repeat(32)}.json`), '{"not": "metadata"')
  const store = await FileStore.open(dir, LIMITS)
  after(() => store.close())
  assert.deepEqual(store.list(), [kept])
  assert.equal(store.usedBytes, 4)
  assert.deepEqual((await readdir(dir)).sort(), [`${kept.id}.data`, `${kept.id}.json`, 'tmp'])
  assert.deepEqual(await readdir(join(dir, 'tmp')), [])
})

test('uploads expire after expirySec unless kept; the sweep removes them; keep(false) re-arms the expiry', async (t) => {
  const after = lifo(t)
  const dir = join(await mkdtemp(join(tmpdir(), 'bg-store-')), 'files')
  after(() => rm(join(dir, '..'), { recursive: true, force: true }))
  let now = Date.parse('2026-01-01T00:00:00Z')
  const store = await FileStore.open(dir, { ...LIMITS, now: () => now })
  after(() => store.close())
  const a = await store.write(Readable.from([Buffer.from('a')]), { name: 'a' })
  const b = await store.write(Readable.from([Buffer.from('b')]), { name: 'b', keep: true })
  const c = await store.write(Readable.from([Buffer.from('c')]), { name: 'c' })
  assert.equal(a.expiresAt, '2026-01-02T00:00:00.000Z')
  assert.equal(b.expiresAt, null)
  await store.keep(c.id, true)
  now += 86_400_000 - 1
  assert.equal(await store.sweep(), 0)
  now += 1
  assert.equal(await store.sweep(), 1)
  assert.deepEqual(
    store.list().map((m) => m.name),
    ['b', 'c'],
  )
  assert.equal((await store.keep(c.id, false))?.expiresAt, '2026-01-03T00:00:00.000Z')
  now += 86_400_000
  assert.equal(await store.sweep(), 1)
  assert.deepEqual(
    store.list().map((m) => m.name),
    ['b'],
  )
  await mkdir(join(dir, 'tmp'), { recursive: true })
  assert.deepEqual((await readdir(dir)).sort(), [`${b.id}.data`, `${b.id}.json`, 'tmp'])
})

test("the sweep runs on its timer, which is unref'd and stops on close()", async (t) => {
  const after = lifo(t)
  const dir = join(await mkdtemp(join(tmpdir(), 'bg-store-')), 'files')
  after(() => rm(join(dir, '..'), { recursive: true, force: true }))
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const before = timers()
  let now = Date.now()
  const store = await FileStore.open(dir, { ...LIMITS, expirySec: 10, sweepSec: 1, now: () => now })
  // an unref'd timer is not an active resource: the store never keeps a process alive
  assert.equal(timers(), before)
  await store.write(Readable.from([Buffer.from('x')]), { name: 'soon' })
  now += 10_000
  await waitFor(() => store.list().length === 0, 3000, 'the timed sweep')
  await store.write(Readable.from([Buffer.from('y')]), { name: 'after-close' })
  await store.close()
  now += 10_000
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal(store.list().length, 1, 'no sweep after close()')
})

test('file names: paths, NUL and control characters, over-long and empty names are refused', () => {
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a\\b', 'a\u0000b', 'a\nb', 'é'.repeat(128)])
    assert.ok(fileNameProblem(bad), JSON.stringify(bad))
  for (const good of ['report.csv', 'données €.json', '.hidden', 'a..b', 'x'.repeat(255)])
    assert.equal(fileNameProblem(good), undefined, good)
})

test('a files directory that cannot be created stops the open with GW_ERR_DATA_DIR_UNWRITABLE', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bg-store-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  await writeFile(join(root, 'files'), 'a file where the directory should be')
  await assert.rejects(FileStore.open(join(root, 'files'), LIMITS), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'GW_ERR_DATA_DIR_UNWRITABLE')
    assert.match((err as Error).message, /files is not writable: .*\((EEXIST|ENOTDIR)\)/)
    return true
  })
})
