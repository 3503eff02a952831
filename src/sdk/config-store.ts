/**
 * A bundle's JSON configuration file with factory defaults, backup and crash-safe saves: the TypeScript
 * counterpart of the Python Sanji SDK's `ModelInitiator`.
 * @module
 */

import { join } from 'node:path'
import type { ValidateFunction } from 'ajv'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Json } from '../protocol/index.ts'
import { type Files, load, readCandidate, removeStaleTemps, writeOrFail } from './config-store-load.ts'
import { type ConfigStoreOptions, checkOptions, describe } from './config-store-options.ts'
import { errorsText } from './json-schema.ts'

export type { ConfigStoreAttempt } from './config-store-load.ts'
export { type ConfigStoreOptions, DEFAULT_BACKUP_INTERVAL_MS } from './config-store-options.ts'

/**
 * Where the loaded data came from: the current file (`existing`), the shipped `<name>.json.factory`, the
 * `<name>.json.backup`, or `options.defaults`.
 */
export type ConfigStoreStatus = 'existing' | 'factory' | 'backup' | 'defaults'

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
