/**
 * Hostile tarballs (issue 15 "Install"): every refusal names the entry and its reason, carries its code, and leaves
 * the parent directory exactly as it was (no staging directory, nothing written outside). Tarballs are written
 * byte by byte (test/helpers/raw-tar.ts) where tar libraries would refuse to build them.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, test } from 'node:test'
import { createGzip, gzipSync } from 'node:zlib'
import { GatewayError } from '../../src/errors.ts'
import { unpackTarball } from '../../src/manager/unpack-tarball.ts'
import { manifestJson, type RawEntry, rawTar, rawTarGz, tarHeader } from '../helpers/raw-tar.ts'

const LIMITS = { maxCompressedBytes: 4 * 1024 * 1024, maxUnpackedBytes: 8 * 1024 * 1024, maxEntries: 100 }
const base = await mkdtemp(join(tmpdir(), 'bg-unpack-'))
after(() => rm(base, { recursive: true, force: true }))

let n = 0
/** A fresh empty parent directory and the (not yet existing) staging directory inside it. */
async function place(): Promise<{ parent: string; dest: string }> {
  const parent = join(base, `case-${n++}`)
  await mkdir(parent)
  return { parent, dest: join(parent, 'stage') }
}

const good = (): RawEntry[] => [
  { name: 'bundle.json', data: manifestJson() },
  { name: 'index.js', data: 'console.log(1)\n', mode: 0o4755 },
  { name: 'lib/', type: '5' },
  { name: 'lib/util.js', data: 'export {}\n', mode: 0o664 },
]

/** Unpacks `body`, expects a refusal with `code` whose message matches `message`, and an untouched parent. */
async function refused(
  body: Buffer | Readable,
  code: string,
  message: RegExp,
  limits = LIMITS,
): Promise<GatewayError> {
  const { parent, dest } = await place()
  const source = Buffer.isBuffer(body) ? Readable.from([body]) : body
  const err = await unpackTarball(source, dest, limits).then(
    () => assert.fail('the tarball was accepted'),
    (e: unknown) => e,
  )
  assert.ok(err instanceof GatewayError, String(err))
  assert.equal(err.code, code, err.message)
  assert.match(err.message, message)
  assert.deepEqual(await readdir(parent), [], 'the parent directory holds nothing new')
  return err
}

test('a good tarball unpacks with its files, modes kept to the executable bit, setuid dropped', async () => {
  const { dest } = await place()
  const { root } = await unpackTarball(Readable.from([rawTarGz(good())]), dest, LIMITS)
  assert.equal(root, dest)
  assert.equal(JSON.parse(await readFile(join(dest, 'bundle.json'), 'utf8')).name, 'tarball-test')
  assert.equal(await readFile(join(dest, 'lib/util.js'), 'utf8'), 'export {}\n')
  assert.equal((await stat(join(dest, 'index.js'))).mode & 0o7777, 0o755)
  assert.equal((await stat(join(dest, 'lib/util.js'))).mode & 0o7777, 0o644)
  assert.equal((await stat(dest)).mode & 0o777, 0o700)
})

test('a tarball wrapping everything in one folder: root is that folder', async () => {
  const { dest } = await place()
  const entries = good().map((e) => ({ ...e, name: `./example/${e.name}` }))
  const { root } = await unpackTarball(Readable.from([rawTarGz(entries)]), dest, LIMITS)
  assert.equal(root, join(dest, 'example'))
  assert.ok(existsSync(join(root, 'lib/util.js')))
})

test('a stream delivered one byte at a time unpacks the same', async () => {
  const { dest } = await place()
  const gz = rawTarGz(good())
  const bytes = Array.from({ length: gz.length }, (_, i) => gz.subarray(i, i + 1))
  const { root } = await unpackTarball(Readable.from(bytes), dest, LIMITS)
  assert.equal(await readFile(join(root, 'index.js'), 'utf8'), 'console.log(1)\n')
})

test('refused: ../x, and nothing lands next to the staging directory', async () => {
  const err = await refused(
    rawTarGz([...good(), { name: '../x', data: 'escaped' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /"\.\.\/x".*'\.\.' segment/,
  )
  assert.deepEqual(err.data, { entry: '../x' })
  await refused(
    rawTarGz([{ name: 'lib/../../y', data: 'x' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /lib\/\.\.\/\.\.\/y/,
  )
})

test('refused: an absolute path, and the absolute target is not created', async () => {
  const target = join(base, 'absolute-escape')
  await refused(
    rawTarGz([...good(), { name: target, data: 'escaped' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /absolute path/,
  )
  assert.equal(existsSync(target), false)
})

test('refused: a pax header that renames a harmless entry to ../escape', async () => {
  await refused(
    rawTarGz([...good(), { name: 'harmless.txt', data: 'x', pax: { path: '../escape' } }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /"\.\.\/escape"/,
  )
})

test('refused: a symbolic link to /etc, a harmless-looking one too (any link)', async () => {
  await refused(
    rawTarGz([...good(), { name: 'etc', type: '2', linkname: '/etc' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /"etc".*symbolic link \(to "\/etc"\)/,
  )
  await refused(
    rawTarGz([...good(), { name: 'alias.js', type: '2', linkname: 'index.js' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /symbolic link/,
  )
})

test('refused: a hard link to a file outside', async () => {
  await refused(
    rawTarGz([...good(), { name: 'passwd', type: '1', linkname: '/etc/passwd' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /"passwd".*hard link \(to "\/etc\/passwd"\)/,
  )
})

test('refused: a character device, a block device, a FIFO', async () => {
  await refused(
    rawTarGz([...good(), { name: 'null', type: '3' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /"null".*character device/,
  )
  await refused(rawTarGz([{ name: 'sda', type: '4' }]), 'GW_ERR_MANAGER_TARBALL_ENTRY', /block device/)
  await refused(rawTarGz([...good(), { name: 'pipe', type: '6' }]), 'GW_ERR_MANAGER_TARBALL_ENTRY', /FIFO/)
})

test('refused: control characters and backslashes in names, duplicates', async () => {
  await refused(rawTarGz([{ name: 'a\nb', data: 'x' }]), 'GW_ERR_MANAGER_TARBALL_ENTRY', /control character/)
  await refused(rawTarGz([{ name: '..\\x', data: 'x' }]), 'GW_ERR_MANAGER_TARBALL_ENTRY', /backslash/)
  await refused(
    rawTarGz([...good(), { name: 'index.js', data: 'again' }]),
    'GW_ERR_MANAGER_TARBALL_ENTRY',
    /"index\.js".*duplicate/,
  )
})

test('refused with 413: a zip bomb of zeros over the unpacked cap', async () => {
  const zeros = Buffer.alloc(64 * 1024 * 1024)
  const body = gzipSync(
    rawTar([
      { name: 'bundle.json', data: manifestJson() },
      { name: 'bomb', data: zeros },
    ]),
  )
  assert.ok(body.length < 200 * 1024, `the bomb is small compressed (${body.length} bytes)`)
  const err = await refused(body, 'GW_ERR_MANAGER_TARBALL_TOO_LARGE', /unpack past 1048576 bytes at "bomb"/, {
    ...LIMITS,
    maxUnpackedBytes: 1024 * 1024,
  })
  assert.equal(err.statusCode, 413)
})

test('refused with 413: many files, each under the cap, together over it (counted as written)', async () => {
  const files = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, data: randomBytes(300 * 1024) }))
  await refused(rawTarGz(files), 'GW_ERR_MANAGER_TARBALL_TOO_LARGE', /unpack past 1048576 bytes at "f3"/, {
    ...LIMITS,
    maxUnpackedBytes: 1024 * 1024,
  })
})

test('refused with 413: more entries than maxEntries', async () => {
  const files = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, data: 'x' }))
  await refused(rawTarGz(files), 'GW_ERR_MANAGER_TARBALL_TOO_LARGE', /more than 10 entries/, {
    ...LIMITS,
    maxEntries: 10,
  })
})

test('refused with 413: a stream that never ends is cut by maxCompressedBytes', async () => {
  // A valid tar header claiming 8 GiB, then random bytes forever, gzip'ed as they come.
  let produced = 0
  const endless = new Readable({
    read() {
      if (produced === 0) this.push(tarHeader({ name: 'endless', type: '0', mode: 0o644, size: 8 ** 11 - 1 }))
      produced++
      this.push(randomBytes(64 * 1024))
    },
  })
  const gz = endless.pipe(createGzip())
  await refused(gz, 'GW_ERR_MANAGER_TARBALL_TOO_LARGE', /more than 1048576 compressed bytes/, {
    ...LIMITS,
    maxCompressedBytes: 1024 * 1024,
    maxUnpackedBytes: 64 * 1024 * 1024 * 1024,
  })
  assert.ok(produced < 100, `the source was not read on after the refusal (${produced} chunks)`)
  endless.destroy()
  gz.destroy()
})

test('refused: a truncated gzip, a truncated tar, not gzip, gzip of garbage, gzip inside gzip, empty', async () => {
  const gz = rawTarGz(good())
  await refused(gz.subarray(0, gz.length - 12), 'GW_ERR_MANAGER_TARBALL_FORMAT', /truncated/)
  const cut = rawTar(good(), false)
  await refused(
    gzipSync(cut.subarray(0, cut.length - 100)),
    'GW_ERR_MANAGER_TARBALL_FORMAT',
    /not a valid tar/,
  )
  await refused(rawTar(good()), 'GW_ERR_MANAGER_TARBALL_FORMAT', /gzip magic/)
  await refused(gzipSync(randomBytes(4096)), 'GW_ERR_MANAGER_TARBALL_FORMAT', /not a valid tar/)
  await refused(gzipSync(gz), 'GW_ERR_MANAGER_TARBALL_FORMAT', /gzip stream inside/)
  await refused(Buffer.alloc(0), 'GW_ERR_MANAGER_TARBALL_FORMAT', /empty upload/)
})

test('refused: a tar header with a bad checksum', async () => {
  const tar = rawTar(good())
  tar[50] = 0x41 // inside the first header's name field, after the name: only the checksum can tell
  await refused(gzipSync(tar), 'GW_ERR_MANAGER_TARBALL_FORMAT', /checksum/)
})

test('refused: no bundle.json at the top or in the one folder', async () => {
  await refused(
    rawTarGz([{ name: 'index.js', data: 'x' }]),
    'GW_ERR_MANAGER_TARBALL_NO_MANIFEST',
    /no bundle\.json/,
  )
  await refused(
    rawTarGz([{ name: 'a/index.js', data: 'x' }]),
    'GW_ERR_MANAGER_TARBALL_NO_MANIFEST',
    /a\/bundle\.json/,
  )
  await refused(
    rawTarGz([{ name: 'bundle.json/', type: '5' }]),
    'GW_ERR_MANAGER_TARBALL_NO_MANIFEST',
    /bundle\.json/,
  )
  // Two zero blocks and nothing else: the parser calls that no tar at all.
  await refused(rawTarGz([]), 'GW_ERR_MANAGER_TARBALL_FORMAT', /Unrecognized archive format/)
})

test('an existing staging directory is refused and left as it was', async () => {
  const { dest } = await place()
  await mkdir(dest)
  const err = await unpackTarball(Readable.from([rawTarGz(good())]), dest, LIMITS).catch((e: unknown) => e)
  assert.ok(err instanceof GatewayError)
  assert.equal(err.code, 'GW_ERR_MANAGER_TARBALL_WRITE')
  assert.ok(existsSync(dest), 'a directory the unpack did not create is not removed')
  assert.deepEqual(await readdir(dest), [])
})
