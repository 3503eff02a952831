/**
 * The manager's record of installed bundles: one JSON file, `<data.dir>/manager.json`, replaced atomically
 * (src/atomic-write.ts) at every change, so that a kill -9 at any moment leaves the previous or the next record,
 * never half of one. The code of each version lives in `<data.dir>/bundles/<name>/<dir>/`; a directory no record
 * names (an install killed between its rename and its record) is swept at open, as is `bundles/.staging/`.
 *
 * Why a file and not SQLite: the record is small (one entry per bundle, written only on install, enable, rollback
 * and token rotation), read whole at start, and a person repairing a device can read it.
 * @module
 */

import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../atomic-write.ts'
import { createError } from '../errors.ts'

/** One installed version: its version string and the directory name under `bundles/<name>/`. */
export interface VersionRecord {
  version: string
  dir: string
}

/** What the manager keeps of one bundle across restarts. */
export interface BundleRecord {
  name: string
  current: VersionRecord
  previous: VersionRecord | null
  enabled: boolean
  priority: number
  dependencies: string[]
  /** MiB; null: the configured default. */
  memoryLimitMb: number | null
  /** The id of its current API token (revoked at the next start and at uninstall). */
  tokenId: string | null
  /** The id of its current broker credential, when the broker requires authentication. */
  credentialId: string | null
  /** True from an upgrade until the new version passed its probation: a failure rolls back. */
  probation: boolean
  installedAt: string
}

interface FileShape {
  version: 1
  bundles: BundleRecord[]
}

/** The directory names used under `<data.dir>`. */
export const LAYOUT = {
  store: 'manager.json',
  bundles: 'bundles',
  staging: '.staging',
  data: 'bundle-data',
  logs: 'logs',
} as const

/** The installed set, in memory and on disk. */
export class ManagerStore {
  readonly path: string
  readonly bundlesDir: string
  readonly #records = new Map<string, BundleRecord>()
  #writing: Promise<void> = Promise.resolve()

  private constructor(dataDir: string) {
    this.path = join(dataDir, LAYOUT.store)
    this.bundlesDir = join(dataDir, LAYOUT.bundles)
  }

  /**
   * Reads the record (none yet: empty) and sweeps what no record names.
   * @throws GW_ERR_MANAGER_STORE when the file exists but cannot be read or parsed.
   */
  static async open(dataDir: string): Promise<ManagerStore> {
    const store = new ManagerStore(dataDir)
    await mkdir(join(store.bundlesDir, LAYOUT.staging), { recursive: true, mode: 0o700 })
    let text: string | undefined
    try {
      text = readFileSync(store.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw createError('GW_ERR_MANAGER_STORE', [store.path, (err as Error).message], { cause: err })
    }
    if (text !== undefined) {
      let parsed: FileShape
      try {
        parsed = JSON.parse(text) as FileShape
        if (parsed.version !== 1 || !Array.isArray(parsed.bundles)) throw new Error('not a version 1 record')
      } catch (err) {
        throw createError('GW_ERR_MANAGER_STORE', [store.path, (err as Error).message], { cause: err })
      }
      for (const r of parsed.bundles) store.#records.set(r.name, r)
    }
    store.sweep()
    return store
  }

  list(): BundleRecord[] {
    return [...this.#records.values()].map((r) => structuredClone(r))
  }

  get(name: string): BundleRecord | undefined {
    const r = this.#records.get(name)
    return r ? structuredClone(r) : undefined
  }

  /** The code directory of a version. */
  codeDir(name: string, v: VersionRecord): string {
    return join(this.bundlesDir, name, v.dir)
  }

  /** Writes `record` (replacing the one of its name); resolves once it is on disk. */
  put(record: BundleRecord): Promise<void> {
    this.#records.set(record.name, structuredClone(record))
    return this.#flush()
  }

  /** Forgets `name`; resolves once that is on disk. */
  remove(name: string): Promise<void> {
    this.#records.delete(name)
    return this.#flush()
  }

  /**
   * Removes `bundles/.staging/*` and every code directory no record names (left by an install or uninstall that
   * was killed half-way): the record decides what is installed.
   */
  sweep(): void {
    const staging = join(this.bundlesDir, LAYOUT.staging)
    for (const e of safeReaddir(staging)) rmSync(join(staging, e), { recursive: true, force: true })
    for (const name of safeReaddir(this.bundlesDir)) {
      if (name === LAYOUT.staging) continue
      const r = this.#records.get(name)
      const keep = new Set([r?.current.dir, r?.previous?.dir].filter((d) => d !== undefined))
      for (const dir of safeReaddir(join(this.bundlesDir, name)))
        if (!keep.has(dir)) rmSync(join(this.bundlesDir, name, dir), { recursive: true, force: true })
      if (!r) rmSync(join(this.bundlesDir, name), { recursive: true, force: true })
    }
  }

  /** Waits for the writes under way. */
  async flushed(): Promise<void> {
    await this.#writing
  }

  #flush(): Promise<void> {
    const body: FileShape = { version: 1, bundles: [...this.#records.values()] }
    const text = `${JSON.stringify(body, null, 2)}\n`
    const next = this.#writing.then(async () => {
      try {
        await writeFileAtomic(this.path, text, { mode: 0o600 })
      } catch (err) {
        throw createError('GW_ERR_MANAGER_STORE', [this.path, (err as Error).message], { cause: err })
      }
    })
    this.#writing = next.catch(() => {})
    return next
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
