import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { GatewayError } from '../../src/errors.ts'
import type { Json } from '../../src/protocol/index.ts'
import { Collection } from '../../src/sdk/collection.ts'

type Port = { name: string; port: number; tags?: string[] }

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-collection-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function openPorts(t: TestContext, dir: string, schema?: object): Promise<Collection<Port>> {
  const c = await Collection.open<Port>(
    'ports',
    dir,
    schema ? { schema, backupIntervalMs: 0 } : { backupIntervalMs: 0 },
  )
  t.after(() => c.close())
  return c
}

const onDisk = async (dir: string): Promise<Json> =>
  JSON.parse(await readFile(join(dir, 'data', 'ports.json'), 'utf8')) as Json

function isCode(code: string, includes: string[] = []): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, code)
    for (const part of includes)
      assert.ok(err.message.includes(part), `${JSON.stringify(err.message)} lacks ${part}`)
    return true
  }
}

const SCHEMA = {
  type: 'object',
  required: ['name', 'port'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tags: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: false,
}

test('a new collection starts empty and saves []', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir)
  assert.equal(c.status, 'defaults')
  assert.deepEqual(c.getAll(), [])
  assert.deepEqual(await onDisk(dir), [])
})

test('add assigns max id + 1, saves before resolving and returns copies', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir)
  const input: Port = { name: 'http', port: 80, tags: ['web'] }
  const a = await c.add(input)
  assert.deepEqual(a, { name: 'http', port: 80, tags: ['web'], id: 1 })
  input.tags!.push('changed')
  a.tags!.push('changed too')
  assert.deepEqual(
    c.get(1),
    { name: 'http', port: 80, tags: ['web'], id: 1 },
    'stored item is a private copy',
  )
  assert.equal((await c.add({ name: 'https', port: 443 })).id, 2)
  assert.equal((await c.add({ name: 'ssh', port: 22, id: 77 } as Port)).id, 3, 'a given id is replaced')
  assert.equal(await c.remove(2), 1)
  assert.equal((await c.add({ name: 'dns', port: 53 })).id, 4, 'max + 1, gaps are not reused')
  assert.equal(await c.remove(4), 1)
  assert.equal(await c.remove(3), 1)
  assert.equal((await c.add({ name: 'ftp', port: 21 })).id, 2)
  assert.deepEqual(await onDisk(dir), c.getAll())
  const all = c.getAll()
  all[0]!.port = 1
  all.pop()
  assert.equal(c.getAll().length, 2, 'getAll returns copies')
  assert.equal(c.get(1)!.port, 80)
})

test('get, update, set, remove and removeAll', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir)
  await c.add({ name: 'http', port: 80, tags: ['web'] })
  await c.add({ name: 'https', port: 443 })
  assert.equal(c.get(3), undefined)

  assert.deepEqual(await c.update(1, { port: 8080, id: 99 } as Partial<Port>), {
    name: 'http',
    port: 8080,
    tags: ['web'],
    id: 1,
  })
  assert.equal(await c.update(42, { port: 1 }), undefined)
  assert.deepEqual(
    await c.set(1, { name: 'alt', port: 81 }),
    { name: 'alt', port: 81, id: 1 },
    'set replaces',
  )
  assert.equal(await c.set(42, { name: 'x', port: 1 }), undefined)
  assert.deepEqual(await onDisk(dir), [
    { name: 'alt', port: 81, id: 1 },
    { name: 'https', port: 443, id: 2 },
  ])

  assert.equal(await c.remove(42), 0)
  assert.equal(await c.remove(1), 1)
  assert.deepEqual(
    c.getAll().map((i) => i.id),
    [2],
  )
  await c.add({ name: 'a', port: 1 })
  assert.equal(await c.removeAll(), 2)
  assert.equal(await c.removeAll(), 0)
  assert.deepEqual(await onDisk(dir), [])
})

test('items survive a reopen; remove counts every row with the id', async (t) => {
  const dir = await tempDir(t)
  await mkdir(join(dir, 'data'))
  const rows = [
    { id: 1, name: 'a', port: 1 },
    { id: 1, name: 'dup', port: 2 },
    { id: 5, name: 'b', port: 3 },
  ]
  await writeFile(join(dir, 'data', 'ports.json.factory'), JSON.stringify(rows))
  const c = await openPorts(t, dir)
  assert.equal(c.status, 'factory')
  assert.deepEqual(c.getAll(), rows)
  assert.equal((await c.add({ name: 'c', port: 4 })).id, 6)
  assert.equal(await c.remove(1), 2)
  await c.close()
  const again = await openPorts(t, dir)
  assert.equal(again.status, 'existing')
  assert.deepEqual(again.getAll(), [
    { id: 5, name: 'b', port: 3 },
    { name: 'c', port: 4, id: 6 },
  ])
})

test('non-integer ids are refused with GW_ERR_COLLECTION_INVALID', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir)
  await c.add({ name: 'http', port: 80 })
  assert.throws(
    () => c.get(1.5),
    isCode('GW_ERR_COLLECTION_INVALID', ['Expected `id` to be an integer, got `1.5`']),
  )
  assert.throws(
    () => c.get('1' as unknown as number),
    isCode('GW_ERR_COLLECTION_INVALID', ['`"1"` (string)']),
  )
  await assert.rejects(c.update(Number.NaN, { port: 1 }), isCode('GW_ERR_COLLECTION_INVALID'))
  await assert.rejects(
    c.set(Number.POSITIVE_INFINITY, { name: 'x', port: 1 }),
    isCode('GW_ERR_COLLECTION_INVALID'),
  )
  await assert.rejects(c.remove(undefined as unknown as number), isCode('GW_ERR_COLLECTION_INVALID'))
  await assert.rejects(
    c.add(null as unknown as Port),
    isCode('GW_ERR_COLLECTION_INVALID', ['Expected an object']),
  )
  assert.deepEqual(c.getAll(), [{ name: 'http', port: 80, id: 1 }])
})

test('every mutation is validated against the schema; nothing invalid is stored', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir, SCHEMA)
  await c.add({ name: 'http', port: 80 })
  await assert.rejects(c.add({ name: 'bad', port: 0 }), (err: unknown) => {
    isCode('GW_ERR_COLLECTION_INVALID', ['Invalid item: item/port must be >= 1'])(err)
    const errors = (err as GatewayError).data as { errors: Array<{ instancePath: string }> }
    assert.equal(errors.errors[0]!.instancePath, '/port')
    return true
  })
  await assert.rejects(
    c.add({ port: 'x' } as unknown as Port),
    isCode('GW_ERR_COLLECTION_INVALID', [
      "item must have required property 'name'",
      'item/port must be integer',
    ]),
  )
  await assert.rejects(
    c.update(1, { port: 70000 }),
    isCode('GW_ERR_COLLECTION_INVALID', ['item/port must be <= 65535']),
  )
  await assert.rejects(
    c.set(1, { name: 'x' } as Port),
    isCode('GW_ERR_COLLECTION_INVALID', ["must have required property 'port'"]),
  )
  assert.deepEqual(c.getAll(), [{ name: 'http', port: 80, id: 1 }])
  assert.deepEqual(await onDisk(dir), [{ name: 'http', port: 80, id: 1 }])
  assert.equal((await c.add({ name: 'ok', port: 1 })).id, 2)
})

test('a stored file that breaks the schema is not loaded', async (t) => {
  const dir = await tempDir(t)
  await mkdir(join(dir, 'data'))
  await writeFile(join(dir, 'data', 'ports.json'), JSON.stringify([{ id: 1, name: 'x', port: 'eighty' }]))
  await assert.rejects(
    Collection.open<Port>('ports', dir, { schema: SCHEMA, backupIntervalMs: 0 }),
    isCode('GW_ERR_STORE_LOAD', ['does not match the schema']),
  )
  await writeFile(join(dir, 'data', 'ports.json'), JSON.stringify([{ id: '1', name: 'x', port: 1 }]))
  await assert.rejects(
    Collection.open<Port>('ports', dir, { backupIntervalMs: 0 }),
    isCode('GW_ERR_STORE_LOAD', ['data/0/id must be integer']),
  )
  await writeFile(join(dir, 'data', 'ports.json'), JSON.stringify({ id: 1 }))
  await assert.rejects(
    Collection.open<Port>('ports', dir, { backupIntervalMs: 0 }),
    isCode('GW_ERR_STORE_LOAD', ['data must be array']),
  )
})

test('a failed save rolls the in-memory items back and leaves the file unchanged', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir)
  await c.add({ name: 'http', port: 80 })
  await c.add({ name: 'https', port: 443 })
  const before = c.getAll()
  // Replace the data directory by a regular file: every write fails (works as root, unlike chmod).
  const data = join(dir, 'data')
  await rename(data, join(dir, 'data-moved'))
  await writeFile(data, 'not a directory')
  const restore = async (): Promise<void> => {
    await rm(data, { force: true })
    await rename(join(dir, 'data-moved'), data)
  }
  t.after(() => restore().catch(() => {}))

  const failures = [
    c.add({ name: 'ssh', port: 22 }),
    c.update(1, { port: 8080 }),
    c.set(2, { name: 'tls', port: 8443 }),
    c.remove(1),
    c.removeAll(),
  ]
  for (const failure of failures) await assert.rejects(failure, isCode('GW_ERR_STORE_WRITE'))
  assert.deepEqual(c.getAll(), before)
  assert.deepEqual(c.get(1), before[0])
  await restore()
  assert.deepEqual(await onDisk(dir), before)
  assert.equal((await c.add({ name: 'ssh', port: 22 })).id, 3, 'the failed add did not consume an id')
  assert.deepEqual(await onDisk(dir), [...before, { name: 'ssh', port: 22, id: 3 }])
})

test('concurrent mutations run one at a time and get distinct ids', async (t) => {
  const dir = await tempDir(t)
  const c = await openPorts(t, dir)
  const added = await Promise.all(Array.from({ length: 10 }, (_, i) => c.add({ name: `p${i}`, port: i + 1 })))
  assert.deepEqual(
    added.map((a) => a.id),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  )
  const [removed, updated] = await Promise.all([c.remove(3), c.update(3, { port: 99 })])
  assert.equal(removed, 1)
  assert.equal(updated, undefined, 'the update ran after the remove')
  await c.close()
  assert.equal(((await onDisk(dir)) as Json[]).length, 9)
})

test('an uncompilable schema is refused', async (t) => {
  const dir = await tempDir(t)
  await assert.rejects(
    Collection.open('ports', dir, { schema: { type: 'nonsense' } }),
    isCode('GW_ERR_COLLECTION_INVALID', ['invalid `schema`']),
  )
})
