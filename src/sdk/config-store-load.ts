/**
 * How a config store finds its data when it opens: the current file, else the backup or the factory file (in the
 * order that fits why the current one is unusable), else the defaults; plus the atomic write every save uses and
 * the clean-up of temp files a killed writer left.
 * @module
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { ValidateFunction } from 'ajv'
import { writeFileAtomic } from '../atomic-write.ts'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Json } from '../protocol/index.ts'
import type { ConfigStoreStatus } from './config-store.ts'
import { errorsText } from './json-schema.ts'

/** One file {@link ConfigStore.open} tried and why it could not be used. */
export interface ConfigStoreAttempt {
  file: string
  reason: string
}

type Candidate = { ok: true; value: Json; text: string } | { ok: false; missing: boolean; reason: string }

/** The files of one store. */
export interface Files {
  dir: string
  json: string
  backup: string
  factory: string
}

/** Loads (and if needed repairs) the store `name`: steps 1–4 of {@link ConfigStore.open}. */
export async function load(
  name: string,
  files: Files,
  validate: ValidateFunction | undefined,
  defaults: Json | undefined,
  log: Logger,
): Promise<{ value: Json; status: ConfigStoreStatus; text: string }> {
  const current = await readCandidate(files.json, validate)
  if (current.ok) {
    log.debug({ file: files.json, status: 'existing' }, 'config loaded')
    return { value: current.value, status: 'existing', text: current.text }
  }
  const tried: ConfigStoreAttempt[] = []
  let trouble = false
  if (current.missing) {
    tried.push({ file: files.json, reason: current.reason })
  } else {
    trouble = true
    const aside = `${files.json}.corrupt-${new Date().toISOString().replaceAll(':', '')}`
    try {
      await rename(files.json, aside)
      tried.push({ file: files.json, reason: `${current.reason} (moved to ${basename(aside)})` })
      log.warn(
        { file: files.json, reason: current.reason, movedTo: aside },
        'config file is broken, moved aside',
      )
    } catch (err) {
      tried.push({ file: files.json, reason: current.reason })
      log.warn(
        { err, file: files.json, reason: current.reason },
        'config file is broken and cannot be moved aside',
      )
    }
  }
  // A missing current file means "start from the factory"; a broken one means "restore the latest backup".
  const order: Array<['backup' | 'factory', string]> = current.missing
    ? [
        ['factory', files.factory],
        ['backup', files.backup],
      ]
    : [
        ['backup', files.backup],
        ['factory', files.factory],
      ]
  for (const [status, file] of order) {
    const candidate = await readCandidate(file, validate)
    if (candidate.ok) {
      await writeOrFail(name, files.json, candidate.text)
      const fields = { file: files.json, from: file, status }
      if (status === 'factory' && !trouble) log.debug(fields, 'config created from factory file')
      else log.warn(fields, `config recovered from ${status} file`)
      return { value: candidate.value, status, text: candidate.text }
    }
    if (!candidate.missing) trouble = true
    tried.push({ file, reason: candidate.reason })
  }
  if (defaults !== undefined) {
    await mkdir(files.dir, { recursive: true }).catch(() => {})
    const text = JSON.stringify(defaults, null, 2) + '\n'
    await writeOrFail(name, files.json, text)
    const fields = { file: files.json, status: 'defaults' }
    if (trouble) log.warn(fields, 'config recovered from defaults')
    else log.debug(fields, 'config created from defaults')
    return { value: structuredClone(defaults), status: 'defaults', text }
  }
  throw createError('GW_ERR_STORE_LOAD', [name, tried.map((a) => `${a.file}: ${a.reason}`).join('; ')], {
    data: { tried },
  })
}

/** Reads, parses and validates one file without throwing. */
export async function readCandidate(
  file: string,
  validate: ValidateFunction | undefined,
): Promise<Candidate> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.code === 'ENOENT') return { ok: false, missing: true, reason: 'not found' }
    return { ok: false, missing: false, reason: `unreadable (${e.message})` }
  }
  if (text.trim() === '') return { ok: false, missing: false, reason: 'empty file' }
  let value: Json
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, '')) as Json
  } catch (err) {
    return { ok: false, missing: false, reason: `invalid JSON (${(err as Error).message})` }
  }
  if (validate && !validate(value)) {
    return {
      ok: false,
      missing: false,
      reason: `does not match the schema (${errorsText(validate.errors ?? [])})`,
    }
  }
  return { ok: true, value, text }
}

/** Writes `text` atomically; GW_ERR_STORE_WRITE (cause: the fs error) when it cannot. */
export async function writeOrFail(name: string, file: string, text: string): Promise<void> {
  try {
    await writeFileAtomic(file, text)
  } catch (err) {
    throw createError('GW_ERR_STORE_WRITE', [name, `${file}: ${(err as Error).message}`], {
      cause: err,
      data: { file },
    })
  }
}

const TEMP = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/

/** Removes temp files a killed writer of this store left behind (only those of processes that no longer run). */
export async function removeStaleTemps(dataDir: string, name: string, log: Logger): Promise<void> {
  let entries: string[]
  try {
    entries = await readdir(dataDir)
  } catch {
    return
  }
  const bases = new Set([`${name}.json`, `${name}.json.backup`])
  for (const entry of entries) {
    const m = TEMP.exec(entry)
    if (!m || !bases.has(m[1]!)) continue
    const pid = Number(m[2])
    if (pid === process.pid || isRunning(pid)) continue
    const file = join(dataDir, entry)
    await rm(file, { force: true }).then(
      () => log.debug({ file }, 'stale temp file removed'),
      () => {},
    )
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
