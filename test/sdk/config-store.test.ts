import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { type TestContext, test } from 'node:test'
import { GatewayError } from '../../src/errors.ts'
import { createLogger } from '../../src/logger.ts'
import type { Json } from '../../src/protocol/index.ts'
import { ConfigStore } from '../../src/sdk/config-store.ts'

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-store-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'data'))
  return dir
}

const file = (dir: string, suffix = ''): string => join(dir, 'data', `conf.json${suffix}`)
const put = (dir: string, suffix: string, text: string): Promise<void> => writeFile(file(dir, suffix), text)
const putJson = (dir: string, suffix: string, value: Json): Promise<void> =>
  put(dir, suffix, JSON.stringify(value, null, 2) + '\n')
const readJson = async (path: string): Promise<Json> => JSON.parse(await readFile(path, 'utf8')) as Json

/** A debug logger whose lines are collected as parsed objects. */
function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: createLogger({ level: 'debug', destination }), lines }
}

function isCode(code: string, includes: string[] = []): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, code)
    for (const part of includes)
      assert.ok(err.message.includes(part), `${JSON.stringify(err.message)} lacks ${part}`)
    return true
  }
}

test('first start copies the factory file and writes the backup', async (t) => {
  const dir = await tempDir(t)
  const factory = '{\n  "port": 80\n}\n'
  await put(dir, '.factory', factory)
  await putJson(dir, '.backup', { port: 1 })
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  assert.equal(store.status, 'factory')
  assert.deepEqual(store.data, { port: 80 })
  assert.equal(store.path, file(dir))
  assert.equal(await readFile(file(dir), 'utf8'), factory)
  assert.equal(await readFile(file(dir, '.backup'), 'utf8'), factory)
  assert.equal(await readFile(file(dir, '.factory'), 'utf8'), factory, 'factory untouched')
})

test('an existing file is loaded as is, whatever the factory says', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { port: 8080 })
  await putJson(dir, '.factory', { port: 80 })
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  assert.equal(store.status, 'existing')
  assert.deepEqual(store.data, { port: 8080 })
  assert.deepEqual(await readJson(file(dir, '.backup')), { port: 8080 })
})

test('a corrupt file is moved aside and the backup is restored', async (t) => {
  const dir = await tempDir(t)
  await put(dir, '', '{"port": 80')
  await putJson(dir, '.backup', { port: 2 })
  await putJson(dir, '.factory', { port: 3 })
  const { logger, lines } = captureLogger()
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0, logger })
  t.after(() => store.close())
  assert.equal(store.status, 'backup')
  assert.deepEqual(store.data, { port: 2 })
  assert.deepEqual(await readJson(file(dir)), { port: 2 })
  const aside = (await readdir(join(dir, 'data'))).filter((f) => f.startsWith('conf.json.corrupt-'))
  assert.equal(aside.length, 1)
  assert.match(aside[0]!, /^conf\.json\.corrupt-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/)
  assert.equal(await readFile(join(dir, 'data', aside[0]!), 'utf8'), '{"port": 80')
  assert.ok(
    lines.some((l) => l['level'] === 40 && l['status'] === 'backup'),
    'warns about the recovery',
  )
})

test('a corrupt file with a broken backup falls back to the factory file', async (t) => {
  const dir = await tempDir(t)
  await put(dir, '', '')
  await put(dir, '.backup', 'not json')
  await putJson(dir, '.factory', { port: 3 })
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  assert.equal(store.status, 'factory')
  assert.deepEqual(store.data, { port: 3 })
  assert.deepEqual(await readJson(file(dir)), { port: 3 })
  assert.deepEqual(await readJson(file(dir, '.backup')), { port: 3 }, 'a good backup replaces the broken one')
})

test('a missing file without factory restores the backup', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '.backup', { port: 2 })
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  assert.equal(store.status, 'backup')
  assert.deepEqual(await readJson(file(dir)), { port: 2 })
})

test('nothing usable falls back to `defaults`, which are saved', async (t) => {
  const dir = await tempDir(t)
  await put(dir, '', '[1, 2')
  await put(dir, '.backup', '{')
  const store = await ConfigStore.open<{ port: number }>('conf', dir, {
    backupIntervalMs: 0,
    defaults: { port: 9 },
  })
  t.after(() => store.close())
  assert.equal(store.status, 'defaults')
  assert.deepEqual(store.data, { port: 9 })
  assert.deepEqual(await readJson(file(dir)), { port: 9 })
})

test('defaults create the data directory of a brand-new store', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bundlegate-store-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const store = await ConfigStore.open('conf', join(root, 'bundle'), { backupIntervalMs: 0, defaults: [] })
  t.after(() => store.close())
  assert.equal(store.status, 'defaults')
  assert.deepEqual(await readJson(join(root, 'bundle', 'data', 'conf.json')), [])
})

test('nothing usable and no defaults rejects with GW_ERR_STORE_LOAD naming every file and reason', async (t) => {
  const dir = await tempDir(t)
  await put(dir, '', '{oops')
  await put(dir, '.backup', '   ')
  await assert.rejects(ConfigStore.open('conf', dir, { backupIntervalMs: 0 }), (err: unknown) => {
    isCode('GW_ERR_STORE_LOAD', ['Config store conf cannot be loaded'])(err)
    const e = err as GatewayError
    assert.match(e.message, /conf\.json: invalid JSON \(.+\) \(moved to conf\.json\.corrupt-/)
    assert.ok(e.message.includes(`${file(dir, '.backup')}: empty file`))
    assert.ok(e.message.includes(`${file(dir, '.factory')}: not found`))
    const tried = (e.data as { tried: Array<{ file: string }> }).tried
    assert.deepEqual(
      tried.map((a) => a.file),
      [file(dir), file(dir, '.backup'), file(dir, '.factory')],
    )
    return true
  })
})

test('no file at all and no defaults rejects with GW_ERR_STORE_LOAD', async (t) => {
  const dir = await tempDir(t)
  await assert.rejects(
    ConfigStore.open('conf', dir),
    isCode('GW_ERR_STORE_LOAD', [`${file(dir)}: not found`, `${file(dir, '.backup')}: not found`]),
  )
})

const SCHEMA = {
  type: 'object',
  required: ['port'],
  properties: { port: { type: 'integer', minimum: 1 } },
  additionalProperties: false,
}

test('a file failing the schema counts as corrupt', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { port: 'eighty' })
  await putJson(dir, '.backup', { port: 0 })
  await putJson(dir, '.factory', { port: 80 })
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0, schema: SCHEMA })
  t.after(() => store.close())
  assert.equal(store.status, 'factory')
  assert.deepEqual(store.data, { port: 80 })
  const aside = (await readdir(join(dir, 'data'))).filter((f) => f.includes('.corrupt-'))
  assert.equal(aside.length, 1)
})

test('save refuses data that fails the schema and leaves the file alone', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { port: 80 })
  const store = await ConfigStore.open<{ port: number | string }>('conf', dir, {
    backupIntervalMs: 0,
    schema: SCHEMA,
  })
  t.after(() => store.close())
  await assert.rejects(
    store.replace({ port: 'x' }),
    isCode('GW_ERR_STORE_INVALID', ['data does not match the schema', 'data/port must be integer']),
  )
  assert.deepEqual(await readJson(file(dir)), { port: 80 })
  await store.replace({ port: 81 })
  assert.deepEqual(await readJson(file(dir)), { port: 81 })
})

test('options are validated eagerly', async (t) => {
  const dir = await tempDir(t)
  const cases: Array<[unknown, string]> = [
    [{ backupIntervalMs: -1 }, 'Expected `backupIntervalMs` to be a non-negative integer, got `-1` (number)'],
    [
      { backupIntervalMs: 1.5 },
      'Expected `backupIntervalMs` to be a non-negative integer, got `1.5` (number)',
    ],
    [
      { backupIntervalMs: '10' },
      'Expected `backupIntervalMs` to be a non-negative integer, got `"10"` (string)',
    ],
    [
      { backupIntervalMs: 2 ** 31 },
      'Expected `backupIntervalMs` to be at most 2147483647, got `2147483648` (number)',
    ],
    [{ schema: 'object' }, 'Expected `schema` to be a JSON Schema object, got `"object"` (string)'],
    [
      { schema: { type: 'object', colour: 1 } },
      'Expected `schema` to be a valid JSON Schema: strict mode: unknown keyword',
    ],
    [
      { schema: SCHEMA, defaults: { port: 0 } },
      'Expected `defaults` to match the schema: data/port must be >= 1',
    ],
    [{ defaults: { when: new Date(0) } }, 'Expected `defaults` to be a JSON value'],
    [{ logger: console }, 'Expected `logger` to be a pino logger'],
    [[], 'Expected `options` to be an object, got `[]` (array)'],
  ]
  for (const [options, message] of cases) {
    await assert.rejects(
      ConfigStore.open('conf', dir, options as object),
      isCode('GW_ERR_STORE_INVALID', [`Config store conf: ${message}`]),
    )
  }
  await assert.rejects(ConfigStore.open('../conf', dir), isCode('GW_ERR_STORE_INVALID', ['Expected `name`']))
  await assert.rejects(ConfigStore.open('conf', ''), isCode('GW_ERR_STORE_INVALID', ['Expected `dir`']))
  assert.deepEqual(await readdir(join(dir, 'data')), [], 'nothing written')
})

test('save writes pretty JSON with a final newline; replace sets and saves', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { a: 1 })
  const store = await ConfigStore.open<Json>('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  ;(store.data as { a: number }).a = 2
  await store.save()
  assert.equal(await readFile(file(dir), 'utf8'), '{\n  "a": 2\n}\n')
  await store.replace([true, null])
  assert.deepEqual(store.data, [true, null])
  assert.equal(await readFile(file(dir), 'utf8'), '[\n  true,\n  null\n]\n')
})

test('concurrent saves are serialised and coalesced into one more write of the latest data', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { n: 0 })
  const { logger, lines } = captureLogger()
  const store = await ConfigStore.open<{ n: number }>('conf', dir, { backupIntervalMs: 0, logger })
  t.after(() => store.close())
  const saved = (): number => lines.filter((l) => l['msg'] === 'config saved').length
  store.data = { n: 1 }
  const first = store.save()
  store.data = { n: 2 }
  const second = store.save()
  store.data = { n: 3 }
  const third = store.save()
  assert.notEqual(first, second)
  assert.equal(second, third, 'requests made during a write share the next write')
  await first
  assert.ok(((await readJson(file(dir))) as { n: number }).n >= 1)
  await Promise.all([second, third])
  assert.deepEqual(await readJson(file(dir)), { n: 3 })
  assert.equal(saved(), 2, 'three save() calls, two writes')
  await store.save()
  assert.equal(saved(), 3, 'an idle store writes at once')
})

/**
 * Makes writes into `<dir>/data` fail. Returns a function undoing it, and the directory that now holds the files.
 * `readOnly`: chmod 0o500 (undefined when chmod does not stop this process, i.e. running as root).
 * Otherwise the data directory is moved away and replaced by a regular file.
 */
async function breakDataDir(
  dir: string,
  how: 'readOnly' | 'replaceByFile',
): Promise<{ restore: () => Promise<void>; filesIn: string } | undefined> {
  const data = join(dir, 'data')
  if (how === 'readOnly') {
    await chmod(data, 0o500)
    try {
      await writeFile(join(data, 'probe'), 'x')
    } catch {
      return { restore: () => chmod(data, 0o755), filesIn: data }
    }
    await rm(join(data, 'probe'))
    await chmod(data, 0o755)
    return undefined
  }
  const moved = join(dir, 'data-moved')
  await rename(data, moved)
  await writeFile(data, 'not a directory')
  return {
    restore: async () => {
      await rm(data)
      await rename(moved, data)
    },
    filesIn: moved,
  }
}

for (const how of ['readOnly', 'replaceByFile'] as const) {
  test(`a failed save (${how}) rejects with GW_ERR_STORE_WRITE and keeps the previous file`, async (t) => {
    const dir = await tempDir(t)
    await putJson(dir, '', { port: 1 })
    const store = await ConfigStore.open<{ port: number }>('conf', dir, { backupIntervalMs: 0 })
    t.after(() => store.close())
    const broken = await breakDataDir(dir, how)
    if (!broken) {
      t.skip('chmod 0o500 does not stop writes for this user (root); see the replaceByFile variant')
      return
    }
    t.after(() => broken.restore().catch(() => {}))
    store.data = { port: 2 }
    await assert.rejects(store.save(), (err: unknown) => {
      isCode('GW_ERR_STORE_WRITE', ['Config store conf cannot be written', file(dir)])(err)
      const cause = (err as GatewayError).cause as NodeJS.ErrnoException
      assert.ok(['EACCES', 'EPERM', 'ENOTDIR', 'EROFS'].includes(cause.code ?? ''), String(cause.code))
      return true
    })
    assert.deepEqual(store.data, { port: 2 }, 'in-memory data keeps the new value')
    assert.deepEqual(await readJson(join(broken.filesIn, 'conf.json')), { port: 1 })
    assert.deepEqual(
      (await readdir(broken.filesIn)).filter((f) => f.endsWith('.tmp')),
      [],
    )
    await broken.restore()
    await store.save()
    assert.deepEqual(await readJson(file(dir)), { port: 2 }, 'a later save retries')
  })
}

test('the backup is refreshed periodically (mocked setInterval), and never with interval 0', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] })
  const dir = await tempDir(t)
  await putJson(dir, '', { v: 1 })
  const store = await ConfigStore.open<{ v: number }>('conf', dir, { backupIntervalMs: 60_000 })
  t.after(() => store.close())
  assert.deepEqual(await readJson(file(dir, '.backup')), { v: 1 })
  await store.replace({ v: 2 })
  assert.deepEqual(await readJson(file(dir, '.backup')), { v: 1 }, 'saving does not touch the backup')
  t.mock.timers.tick(60_000)
  for (let i = 0; i < 1000; i++) {
    const backup = (await readJson(file(dir, '.backup'))) as { v: number }
    if (backup.v === 2) break
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.deepEqual(await readJson(file(dir, '.backup')), { v: 2 })

  const other = await tempDir(t)
  await putJson(other, '', { v: 1 })
  const quiet = await ConfigStore.open<{ v: number }>('conf', other, { backupIntervalMs: 0 })
  await quiet.replace({ v: 2 })
  t.mock.timers.tick(24 * 3_600_000)
  await quiet.close()
  assert.deepEqual(await readJson(file(other, '.backup')), { v: 1 })
})

test('backup() refuses to copy a damaged current file over a good backup', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { v: 1 })
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  await put(dir, '', '{"v":')
  await assert.rejects(store.backup(), isCode('GW_ERR_STORE_LOAD', ['invalid JSON', 'backup not written']))
  assert.deepEqual(await readJson(file(dir, '.backup')), { v: 1 })
})

test('close() waits for the pending save; later saves reject', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { v: 1 })
  const store = await ConfigStore.open<{ v: number }>('conf', dir, { backupIntervalMs: 0 })
  store.data = { v: 2 }
  const saving = store.save()
  store.data = { v: 3 }
  const again = store.save()
  await store.close()
  assert.deepEqual(await readJson(file(dir)), { v: 3 })
  await Promise.all([saving, again])
  await assert.rejects(store.save(), isCode('GW_ERR_STORE_INVALID', ['closed']))
  await store.close()
})

test('open removes temp files left by dead writers, not those of live processes', async (t) => {
  const dir = await tempDir(t)
  await putJson(dir, '', { v: 1 })
  const dead = spawnSync(process.execPath, ['-e', '']).pid
  const stale = `.conf.json.${dead}.0123456789ab.tmp`
  const live = `.conf.json.${process.pid}.0123456789ab.tmp`
  const foreign = `.other.json.${dead}.0123456789ab.tmp`
  for (const name of [stale, live, foreign]) await writeFile(join(dir, 'data', name), 'partial')
  const store = await ConfigStore.open('conf', dir, { backupIntervalMs: 0 })
  t.after(() => store.close())
  const left = (await readdir(join(dir, 'data'))).filter((f) => f.endsWith('.tmp')).sort()
  assert.deepEqual(left, [live, foreign].sort())
})
