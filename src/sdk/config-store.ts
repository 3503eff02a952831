/**
 * A bundle's JSON configuration file with factory defaults, backup and crash-safe saves: the TypeScript
 * counterpart of the Python Sanji SDK's `ModelInitiator`.
 * @module
 */

import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { writeFileAtomic } from '../atomic-write.ts'
import { describeValue as describe } from '../describe-value.ts'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { Json } from '../protocol/index.ts'

/**
 * Where the loaded data came from: the current file (`existing`), the shipped `<name>.json.factory`, the
 * `<name>.json.backup`, or `options.defaults`.
 */
export type ConfigStoreStatus = 'existing' | 'factory' | 'backup' | 'defaults'

/** Options of {@link ConfigStore.open}. */
export interface ConfigStoreOptions<T extends Json = Json> {
  /** How often the backup is refreshed from the current file; 0 disables it. @default 43_200_000 (12 h) */
  backupIntervalMs?: number
  /** A JSON Schema (ajv 8) the data must match, on load and on every save. */
  schema?: object
  /** Used (and saved) when neither the current file, the backup nor the factory file can be loaded. */
  defaults?: T
  /** pino logger; a child `{ component: 'config-store', store: name }` is used. @default silentLogger() */
  logger?: Logger
}

/** One file {@link ConfigStore.open} tried and why it could not be used. */
export interface ConfigStoreAttempt {
  file: string
  reason: string
}

/** The default backup interval: 12 hours. */
export const DEFAULT_BACKUP_INTERVAL_MS = 12 * 60 * 60 * 1000
/** setInterval() cannot wait longer than this. */
const MAX_INTERVAL_MS = 2_147_483_647

type Candidate = { ok: true; value: Json; text: string } | { ok: false; missing: boolean; reason: string }

interface Files {
  dir: string
  json: string
  backup: string
  factory: string
}

interface Init<T> {
  name: string
  files: Files
  data: T
  /** The file's content as loaded or last written. */
  text: string
  status: ConfigStoreStatus
  validate: ValidateFunction | undefined
  log: Logger
}

/**
 * A JSON document kept in `<dir>/data/<name>.json`, next to `<name>.json.factory` (shipped defaults) and
 * `<name>.json.backup`. Every write is atomic (temp file, fsync, rename), so a crash never leaves a broken file.
 *
 * **Failed saves.** When {@link ConfigStore.save} rejects (disk full, read-only directory, …) the file on disk
 * keeps its previous content. After a failed `save()` the in-memory {@link ConfigStore.data} keeps the new value
 * (a later `save()` retries); after a failed {@link ConfigStore.replace} it returns to what the file holds.
 * Callers that mutate `data` and need all-or-nothing semantics restore the old value themselves (as
 * {@link Collection} does).
 */
export class ConfigStore<T extends Json = Json> {
  /** The store name (`<name>.json`). */
  readonly name: string
  /** Absolute or relative path of the current file, `<dir>/data/<name>.json`. */
  readonly path: string
  /** Where the data came from when the store was opened. */
  readonly status: ConfigStoreStatus
  #data: T
  /** What the current file holds (as loaded or last written by this store): a failed replace() returns to it. */
  #persisted: string
  readonly #files: Files
  readonly #validate: ValidateFunction | undefined
  readonly #log: Logger
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #queued: Promise<void> | undefined
  #backingUp: Promise<void> | undefined
  #closed = false

  private constructor(init: Init<T>) {
    this.name = init.name
    this.path = init.files.json
    this.status = init.status
    this.#data = init.data
    this.#persisted = init.text
    this.#files = init.files
    this.#validate = init.validate
    this.#log = init.log
  }

  /**
   * Opens (and if needed creates or repairs) the store `name` under `<dir>/data/`.
   *
   * 1. `<name>.json` missing and `<name>.json.factory` present: the factory file is copied (status `factory`).
   * 2. `<name>.json` loads, parses and matches the schema: status `existing`.
   * 3. Otherwise the broken file is moved to `<name>.json.corrupt-<time>` and the backup (status `backup`), then
   *    the factory file (status `factory`) is restored atomically; failing both, `options.defaults` is saved
   *    (status `defaults`).
   * 4. Nothing usable: rejects with `GW_ERR_STORE_LOAD`, naming every file tried and why.
   *
   * Then the backup is written once and refreshed every `backupIntervalMs`.
   * @throws GW_ERR_STORE_INVALID for bad arguments or options, GW_ERR_STORE_WRITE when a repair cannot be written.
   */
  static async open<T extends Json = Json>(
    name: string,
    dir: string,
    options: ConfigStoreOptions<T> = {},
  ): Promise<ConfigStore<T>> {
    const checked = checkOptions(name, dir, options)
    const dataDir = join(dir, 'data')
    const json = join(dataDir, `${name}.json`)
    const files: Files = { dir: dataDir, json, backup: `${json}.backup`, factory: `${json}.factory` }
    const log = checked.logger.child({ component: 'config-store', store: name })
    await removeStaleTemps(dataDir, name, log)
    const { value, status, text } = await load(name, files, checked.validate, options.defaults, log)
    const store = new ConfigStore<T>({
      name,
      files,
      data: value as T,
      text,
      status,
      validate: checked.validate,
      log,
    })
    await store.#backupQuietly()
    if (checked.backupIntervalMs > 0) {
      store.#timer = setInterval(() => {
        void store.#backupQuietly()
      }, checked.backupIntervalMs)
      store.#timer.unref()
    }
    return store
  }

  /** The live data (mutate it, then call {@link ConfigStore.save}). */
  get data(): T {
    return this.#data
  }

  /** Replaces the in-memory data; nothing is written until {@link ConfigStore.save}. */
  set data(value: T) {
    this.#data = value
  }

  /**
   * Writes `JSON.stringify(data, null, 2) + '\n'` atomically. Calls made while a write runs are coalesced into
   * one more write of the latest data; every promise resolves once data at least as new as at its call is on disk.
   * @throws GW_ERR_STORE_INVALID when the data is not JSON, fails the schema or the store is closed;
   *   GW_ERR_STORE_WRITE (cause: the fs error) when the file cannot be written. See the class notes.
   */
  save(): Promise<void> {
    if (this.#closed)
      return Promise.reject(createError('GW_ERR_STORE_INVALID', [this.name, 'the store is closed']))
    if (this.#queued !== undefined) return this.#queued
    const running = this.#inFlight
    if (running === undefined) return this.#startWrite()
    const queued = running
      .catch(() => {})
      .then(() => {
        this.#queued = undefined
        return this.#startWrite()
      })
    this.#queued = queued
    return queued
  }

  /**
   * Sets {@link ConfigStore.data} and saves it. When the save fails (disk full, read-only directory) and the data
   * has not been replaced again meanwhile, {@link ConfigStore.data} returns to what the file holds, so readers
   * never see a value that is not on disk; the error is rethrown.
   */
  async replace(value: T): Promise<void> {
    this.#data = value
    try {
      await this.save()
    } catch (err) {
      if (this.#data === value) this.#data = JSON.parse(this.#persisted.replace(/^\uFEFF/, '')) as T
      throw err
    }
  }

  /**
   * Copies the current file to `<name>.json.backup` (atomically) after pending saves are done. The current file is
   * checked first, so a damaged file never overwrites a good backup.
   * @throws GW_ERR_STORE_LOAD when the current file is not usable, GW_ERR_STORE_WRITE when the backup cannot be written.
   */
  async backup(): Promise<void> {
    await this.#idle()
    const current = await readCandidate(this.path, this.#validate)
    if (!current.ok) {
      throw createError(
        'GW_ERR_STORE_LOAD',
        [this.name, `${this.path}: ${current.reason} (backup not written)`],
        {
          data: { tried: [{ file: this.path, reason: current.reason }] },
        },
      )
    }
    await writeOrFail(this.name, this.#files.backup, current.text)
    this.#log.debug({ file: this.#files.backup }, 'config backed up')
  }

  /** Stops the backup timer and waits for pending saves and backups. Later saves reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#idle()
    await this.#backingUp
  }

  #startWrite(): Promise<void> {
    const write = this.#write().finally(() => {
      if (this.#inFlight === write) this.#inFlight = undefined
    })
    this.#inFlight = write
    return write
  }

  /** The data is serialised synchronously, so a write stores the data as it was when the write started. */
  async #write(): Promise<void> {
    const text = this.#serialize()
    await writeOrFail(this.name, this.path, text)
    this.#persisted = text
    this.#log.debug({ file: this.path, bytes: Buffer.byteLength(text) }, 'config saved')
  }

  #serialize(): string {
    const body = JSON.stringify(this.#data, null, 2) as string | undefined
    if (body === undefined) {
      throw createError('GW_ERR_STORE_INVALID', [
        this.name,
        `Expected \`data\` to be JSON, got ${describe(this.#data)}`,
      ])
    }
    if (this.#validate && !this.#validate(JSON.parse(body))) {
      const errors = this.#validate.errors ?? []
      throw createError(
        'GW_ERR_STORE_INVALID',
        [this.name, `data does not match the schema: ${errorsText(errors)}`],
        {
          data: { errors },
        },
      )
    }
    return body + '\n'
  }

  async #idle(): Promise<void> {
    await (this.#queued ?? this.#inFlight)?.catch(() => {})
  }

  #backupQuietly(): Promise<void> {
    this.#backingUp ??= this.backup()
      .catch((err: unknown) => {
        this.#log.warn({ err, file: this.#files.backup }, 'config backup failed')
      })
      .finally(() => {
        this.#backingUp = undefined
      })
    return this.#backingUp
  }
}

async function load(
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
async function readCandidate(file: string, validate: ValidateFunction | undefined): Promise<Candidate> {
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

async function writeOrFail(name: string, file: string, text: string): Promise<void> {
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
async function removeStaleTemps(dataDir: string, name: string, log: Logger): Promise<void> {
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

function checkOptions(
  name: unknown,
  dir: unknown,
  options: unknown,
): { backupIntervalMs: number; validate: ValidateFunction | undefined; logger: Logger } {
  const label = typeof name === 'string' && name !== '' ? name : String(name)
  const fail = (text: string, cause?: unknown): never => {
    throw createError('GW_ERR_STORE_INVALID', [label, text], cause === undefined ? {} : { cause })
  }
  if (typeof name !== 'string' || !/^[^/\\\0]+$/.test(name) || name === '.' || name === '..') {
    fail(`Expected \`name\` to be a file name without path separators, got ${describe(name)}`)
  }
  if (typeof dir !== 'string' || dir === '')
    fail(`Expected \`dir\` to be a non-empty string, got ${describe(dir)}`)
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(`Expected \`options\` to be an object, got ${describe(options)}`)
  }
  const o = options as ConfigStoreOptions
  const interval = o.backupIntervalMs ?? DEFAULT_BACKUP_INTERVAL_MS
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < 0) {
    fail(`Expected \`backupIntervalMs\` to be a non-negative integer, got ${describe(interval)}`)
  }
  if (interval > MAX_INTERVAL_MS) {
    fail(`Expected \`backupIntervalMs\` to be at most ${MAX_INTERVAL_MS}, got ${describe(interval)}`)
  }
  let validate: ValidateFunction | undefined
  if (o.schema !== undefined) {
    if (typeof o.schema !== 'object' || o.schema === null || Array.isArray(o.schema)) {
      fail(`Expected \`schema\` to be a JSON Schema object, got ${describe(o.schema)}`)
    }
    try {
      validate = compileSchema(o.schema)
    } catch (err) {
      fail(`Expected \`schema\` to be a valid JSON Schema: ${(err as Error).message}`, err)
    }
  }
  if (o.defaults !== undefined) {
    if (!isJson(o.defaults)) fail(`Expected \`defaults\` to be a JSON value, got ${describe(o.defaults)}`)
    if (validate && !validate(o.defaults)) {
      fail(`Expected \`defaults\` to match the schema: ${errorsText(validate.errors ?? [])}`)
    }
  }
  const logger = o.logger ?? silentLogger()
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.child !== 'function' ||
    typeof logger.debug !== 'function' ||
    typeof logger.warn !== 'function'
  ) {
    fail(`Expected \`logger\` to be a pino logger, got ${describe(logger)}`)
  }
  return { backupIntervalMs: interval, validate, logger }
}

/** Compiles a JSON Schema with ajv 8: all errors, strict keywords, formats not checked (no ajv-formats). */
export function compileSchema(schema: object): ValidateFunction {
  return new Ajv({ allErrors: true, validateFormats: false, logger: false }).compile(schema)
}

/** Ajv errors as one readable line, e.g. "data/port must be integer, data must have required property 'host'". */
export function errorsText(errors: readonly ErrorObject[], dataVar = 'data'): string {
  return errors.map((e) => `${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ')
}

function isJson(value: unknown, seen = new Set<object>()): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (typeof value !== 'object' || seen.has(value)) return false
  seen.add(value)
  const ok = Array.isArray(value)
    ? value.every((v) => isJson(v, seen))
    : Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every((v) => isJson(v, seen))
  seen.delete(value)
  return ok
}
