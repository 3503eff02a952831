/**
 * A kill -9 at any moment of an install leaves the old bundle or the new one, never half of one (docs/manager.md
 * "Layout"): a child installs versions in a loop and is killed at seeded random moments; after each kill the
 * store is reopened (as the next gateway start does) and every recorded version must be complete.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { LAYOUT, ManagerStore } from '../../src/manager/manager-store.ts'
import { lifo } from '../helpers/gateway.ts'
import { CRASH_FILES, crashContent } from '../helpers/install-crasher.ts'
import { prng } from '../helpers/prng.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

async function checkComplete(store: ManagerStore, version: string, dir: string): Promise<void> {
  const files = await readdir(join(dir, 'lib'))
  assert.equal(files.length, CRASH_FILES, `${version}: every file there`)
  for (const i of [0, CRASH_FILES >> 1, CRASH_FILES - 1])
    assert.equal(
      await readFile(join(dir, 'lib', `f${i}.txt`), 'utf8'),
      crashContent(version, i),
      `${version} f${i}`,
    )
  const manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as { version: string }
  assert.equal(manifest.version, version)
  void store
}

test('kill -9 during installs: after reopening, the recorded versions are complete and nothing else is left', async (t) => {
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-mgr-crash-'))
  const parent = await mkdtemp(join(tmpdir(), 'bg-mgr-crash-src-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  defer(() => rm(parent, { recursive: true, force: true }))
  const random = prng(15)
  let lastPrinted = 0
  let kills = 0
  for (let round = 0; round < 8; round++) {
    const child = spawn(
      process.execPath,
      ['--conditions=bundlegate-dev', '--import', 'tsx', 'test/helpers/install-crasher.ts', dataDir, parent],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    // let it get going (first version printed), then kill it at a random moment of a later install
    const started = Date.now()
    while (!out.includes('\n') && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 10))
    await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 400)))
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    kills++
    const printed = out.trim().split('\n').filter(Boolean)
    if (printed.length > 0) lastPrinted = Number.parseInt(printed.at(-1) ?? '0', 10)

    const store = await ManagerStore.open(dataDir)
    const record = store.get('crashy')
    assert.ok(record, `round ${round}: a record`)
    const recorded = Number.parseInt(record.current.version, 10)
    // what was printed is on disk; at most the one install after it may have been recorded before the kill
    assert.ok(
      recorded === lastPrinted || recorded === lastPrinted + 1,
      `round ${round}: ${recorded} vs ${lastPrinted}`,
    )
    await checkComplete(store, record.current.version, store.codeDir('crashy', record.current))
    if (record.previous)
      await checkComplete(store, record.previous.version, store.codeDir('crashy', record.previous))
    const kept = [record.current.dir, record.previous?.dir].filter(Boolean).sort()
    assert.deepEqual(
      (await readdir(join(dataDir, LAYOUT.bundles, 'crashy'))).sort(),
      kept,
      'swept: only recorded versions',
    )
    assert.deepEqual(await readdir(join(dataDir, LAYOUT.bundles, LAYOUT.staging)), [], 'staging emptied')
    lastPrinted = recorded
  }
  t.diagnostic(`${kills} kills, last version ${lastPrinted}`)
})
