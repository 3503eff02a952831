import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { copyFileAtomic, writeFileAtomic } from '../../src/atomic-write.ts'
import { ConfigStore } from '../../src/sdk/config-store.ts'
import { checksumOf, crashDocument } from '../helpers/crash-writer.ts'

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-atomic-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const tempFiles = async (dir: string): Promise<string[]> =>
  (await readdir(dir)).filter((f) => f.endsWith('.tmp'))

test('writeFileAtomic creates and replaces a file and leaves no temp file', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'a.json')
  await writeFileAtomic(file, 'one')
  assert.equal(await readFile(file, 'utf8'), 'one')
  await writeFileAtomic(file, new TextEncoder().encode('two'))
  assert.equal(await readFile(file, 'utf8'), 'two')
  assert.deepEqual(await readdir(dir), ['a.json'])
})

test('writeFileAtomic applies `mode` exactly and otherwise keeps the mode of the replaced file', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'a.json')
  await writeFileAtomic(file, 'one', { mode: 0o600 })
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  await chmod(file, 0o640)
  await writeFileAtomic(file, 'two')
  assert.equal((await stat(file)).mode & 0o777, 0o640)
})

test('writeFileAtomic removes its temp file and rethrows when the rename fails', async (t) => {
  const dir = await tempDir(t)
  const target = join(dir, 'target')
  await mkdir(target)
  await writeFile(join(target, 'inside'), 'x')
  await assert.rejects(writeFileAtomic(target, 'data'), (err: NodeJS.ErrnoException) => {
    assert.ok(['EISDIR', 'ENOTEMPTY', 'EEXIST', 'EPERM'].includes(err.code ?? ''), String(err.code))
    return true
  })
  assert.deepEqual(await tempFiles(dir), [])
  assert.equal(await readFile(join(target, 'inside'), 'utf8'), 'x')
})

test('writeFileAtomic rejects with the fs error when the directory does not exist', async (t) => {
  const dir = await tempDir(t)
  await assert.rejects(writeFileAtomic(join(dir, 'missing', 'a.json'), 'x'), { code: 'ENOENT' })
})

test('copyFileAtomic copies content and mode', async (t) => {
  const dir = await tempDir(t)
  const src = join(dir, 'src')
  const dest = join(dir, 'dest')
  await writeFile(src, 'payload')
  await chmod(src, 0o604)
  await writeFile(dest, 'old')
  await copyFileAtomic(src, dest)
  assert.equal(await readFile(dest, 'utf8'), 'payload')
  assert.equal((await stat(dest)).mode & 0o777, 0o604)
  await assert.rejects(copyFileAtomic(join(dir, 'nope'), dest), { code: 'ENOENT' })
  assert.equal(await readFile(dest, 'utf8'), 'payload')
})

const WRITER = join(import.meta.dirname, '..', 'helpers', 'crash-writer.ts')
const LANES = 3
const KILLS_PER_LANE = 10

/**
 * Starts the writer on `dir` and SIGKILLs it at a moment chosen by `round`: at a random point after spawn (often
 * during start-up or the first saves), right after the n-th completed save, or a few milliseconds after it.
 * Resolves with every counter the writer reported as saved.
 */
function runAndKill(dir: string, round: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=bundlegate-dev', '--import', 'tsx', WRITER, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    let killed = false
    const kill = (): void => {
      if (killed) return
      killed = true
      child.kill('SIGKILL')
    }
    const mode = round % 3
    const target = 1 + Math.floor(Math.random() * 15)
    let timer: NodeJS.Timeout | undefined
    if (mode === 0) timer = setTimeout(kill, Math.floor(Math.random() * 700))
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      err += chunk
    })
    child.stdout.on('data', (chunk: string) => {
      out += chunk
      if (mode === 0 || killed) return
      const lines = out.split('\n').length - 1
      if (lines < target) return
      if (mode === 1) kill()
      else timer = setTimeout(kill, Math.floor(Math.random() * 6))
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer ended by itself (code ${code}, signal ${signal}): ${err}`))
        return
      }
      const complete = out.slice(0, out.lastIndexOf('\n') + 1)
      resolve(
        complete
          .split('\n')
          .filter((l) => l !== '')
          .map(Number),
      )
    })
  })
}

test(`a ConfigStore writer killed with SIGKILL at any moment leaves the old or the new complete file (${LANES * KILLS_PER_LANE} kills)`, {
  timeout: 120_000,
}, async (t) => {
  const root = await tempDir(t)
  let kills = 0
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      const dir = join(root, `lane-${lane}`)
      const file = join(dir, 'data', 'crash.json')
      await mkdir(join(dir, 'data'), { recursive: true })
      await writeFileAtomic(file, JSON.stringify(crashDocument(0), null, 2) + '\n')
      let onDisk = 0
      for (let round = 0; round < KILLS_PER_LANE; round++) {
        const saved = await runAndKill(dir, round + lane)
        kills++
        const text = await readFile(file, 'utf8')
        assert.ok(text.length > 0, 'the file is never empty')
        const doc = JSON.parse(text) as { counter: number; payload: string[]; checksum: string }
        assert.equal(doc.checksum, checksumOf(doc.counter, doc.payload), 'the file is one complete document')
        assert.equal(doc.payload.length, 200)
        // Every save the writer reported is on disk; at most one more (renamed, not yet reported) may follow.
        const last = saved.at(-1) ?? onDisk
        assert.ok(
          doc.counter === last || doc.counter === last + 1,
          `counter ${doc.counter}, last reported ${last}`,
        )
        assert.ok(doc.counter >= onDisk, 'never goes back')
        onDisk = doc.counter
      }
      // Temp files of the killed writers are cleaned up when the store is opened again.
      const store = await ConfigStore.open('crash', dir, { backupIntervalMs: 0 })
      assert.equal(store.status, 'existing')
      assert.equal((store.data as { counter: number }).counter, onDisk)
      await store.close()
      assert.deepEqual(await tempFiles(join(dir, 'data')), [])
    }),
  )
  assert.equal(kills, LANES * KILLS_PER_LANE)
})
