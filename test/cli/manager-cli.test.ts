/**
 * The bundle manager's commands (issue 15) without a gateway: help, usage errors, and the on-the-fly packing of a
 * bundle directory (checked by unpacking it with the gateway's own unpacker). Their calls to a running gateway are
 * in test/manager/http-cli.test.ts.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { after, describe, test } from 'node:test'
import { formatBytes, formatUptime } from '../../src/cli/commands/bundles-table.ts'
import { packBundle, packed } from '../../src/cli/pack-bundle.ts'
import { unpackTarball } from '../../src/manager/unpack-tarball.ts'
import { runCli } from '../helpers/cli.ts'

const base = await mkdtemp(join(tmpdir(), 'bg-mgrcli-'))
after(() => rm(base, { recursive: true, force: true }))

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)))
  return out.sort()
}

describe('bundlegate install / uninstall / logs / bundles <verb>: help and usage', () => {
  for (const argv of [
    ['install', '--help'],
    ['uninstall', '--help'],
    ['logs', '--help'],
    ['bundles', '--help'],
  ]) {
    test(`${argv.join(' ')} prints its help, exit 0`, async () => {
      const r = await runCli(argv)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^Usage: bundlegate ${argv[0]}`))
    })
  }

  test('the top-level usage names the new commands', async () => {
    const r = await runCli(['--help'])
    for (const c of [
      'install <dir | file.tar.gz>',
      'uninstall <name>',
      'logs <name>',
      'bundles [<verb> <name>]',
    ])
      assert.ok(r.stdout.includes(c), c)
  })

  for (const [argv, message] of [
    [['install'], /give one bundle directory/],
    [['install', 'a', 'b'], /give one bundle directory/],
    [['install', join(base, 'missing')], /cannot read/],
    [['uninstall'], /give one bundle name/],
    [['logs'], /give one bundle name/],
    [['logs', 'x', '-n', 'ten'], /-n must be a whole number/],
    [['bundles', 'explode', 'x'], /unknown subcommand "explode"/],
    [['bundles', 'start'], /takes one bundle name/],
    [['bundles', 'status', 'a', 'b'], /takes one bundle name/],
  ] as const) {
    test(`${argv.join(' ') || '(none)'}: usage error, exit 2, nothing sent`, async () => {
      // no gateway listens on port 1: a usage error must come before any call
      const r = await runCli([...argv, '--url', 'http://127.0.0.1:1', '--token', 'x'])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
      assert.doesNotMatch(r.stderr, /cannot reach/)
    })
  }

  test('install of a file that is no tarball is a usage error', async () => {
    const f = join(base, 'notes.txt')
    await writeFile(f, 'x')
    const r = await runCli(['install', f, '--url', 'http://127.0.0.1:1', '--token', 'x'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /neither a bundle directory nor a \.tar\.gz/)
  })
})

describe('packing a bundle directory', () => {
  test('node_modules and dotfiles are left out at every level; the rest is at the top of the archive', async () => {
    const dir = join(base, 'bundle')
    await mkdir(join(dir, 'src', 'node_modules', 'dep'), { recursive: true })
    await mkdir(join(dir, 'node_modules', 'bundlegate'), { recursive: true })
    await mkdir(join(dir, '.git'), { recursive: true })
    await mkdir(join(dir, 'src', '.cache'), { recursive: true })
    await writeFile(join(dir, 'bundle.json'), '{"name":"packed"}')
    await writeFile(join(dir, 'index.ts'), 'export {}\n')
    await writeFile(join(dir, 'src', 'lib.ts'), 'export const x = 1\n')
    await writeFile(join(dir, 'src', 'node_modules', 'dep', 'index.js'), 'no')
    await writeFile(join(dir, 'node_modules', 'bundlegate', 'index.js'), 'no')
    await writeFile(join(dir, '.git', 'HEAD'), 'no')
    await writeFile(join(dir, '.env'), 'SECRET=no')
    await writeFile(join(dir, 'src', '.cache', 'x'), 'no')
    await writeFile(join(dir, 'src', '.hidden.ts'), 'no')
    const dest = join(base, 'unpacked')
    const { root } = await unpackTarball(await packBundle(dir), dest, {
      maxCompressedBytes: 1 << 20,
      maxUnpackedBytes: 1 << 20,
      maxEntries: 100,
    })
    assert.equal(root, dest)
    assert.deepEqual(await filesUnder(dest), ['bundle.json', 'index.ts', join('src', 'lib.ts')])
    assert.equal(await readFile(join(dest, 'src', 'lib.ts'), 'utf8'), 'export const x = 1\n')
  })

  test('packed(): which relative paths go in', () => {
    assert.equal(packed('src/a.ts'), true)
    assert.equal(packed('a..b'), true)
    assert.equal(packed('node_modules'), false)
    assert.equal(packed('lib/node_modules/x'), false)
    assert.equal(packed('.env'), false)
    assert.equal(packed('src/.git/config'), false)
  })

  test('the list columns: uptime and memory', () => {
    assert.equal(formatUptime(12.7), '12s')
    assert.equal(formatUptime(250), '4m 10s')
    assert.equal(formatUptime(7500), '2h 5m')
    assert.equal(formatUptime(3 * 86_400 + 4 * 3600 + 5), '3d 4h')
    assert.equal(formatBytes(null), '-')
    assert.equal(formatBytes(831_488), '812 KiB')
    assert.equal(formatBytes(47_395_635), '45.2 MiB')
  })
})
