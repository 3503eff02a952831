/**
 * The file store of the file service (issue 16): files streamed to `<dir>/tmp/<id>.part`, fsynced, renamed to
 * `<dir>/<id>.data`; their {@link FileMeta} written atomically to `<dir>/<id>.json` last, which is the commit
 * point. A kill -9 at any moment leaves either nothing visible or a complete file; leftovers are removed at open.
 * @module
 */
import { createHash } from 'node:crypto'
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { syncDirectory, writeFileAtomic } from '../atomic-write.ts'
import { createError, GatewayError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import {
  cleanMediaType,
  type FileMeta,
  fileNameProblem,
  isFileId,
  isFileMeta,
  newFileId,
} from './file-meta.ts'
import { raced } from './raced.ts'

/** Limits and timers of a {@link FileStore} (the `files` config section). */
export interface FileStoreOptions {
  /** Largest file, in bytes. */
  maxFileBytes: number
  /** All stored files together (uploads in progress included), in bytes. */
  quotaBytes: number
  /** An upload nobody keeps is removed this long after it was stored; 0: never. */
  expirySec: number
  /** How often expired files are swept. */
  sweepSec: number
  logger?: Logger
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number
}

/** What {@link FileStore.write} stores. */
export interface FileInput {
  name: string
  type?: string | undefined
  /** Keep the file (no expiry). @default false */
  keep?: boolean
  /** Aborts the upload (the partial file is removed); the reason is thrown. */
  signal?: AbortSignal
  /** Called for every chunk read (the caller's stall timer). */
  onData?: () => void
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/** The file store. Open it with {@link FileStore.open}; {@link FileStore.close} stops its sweep timer. */
export class FileStore {
  readonly dir: string
  readonly options: Readonly<FileStoreOptions>
  readonly #tmp: string
  readonly #files = new Map<string, FileMeta>()
  readonly #log: Logger | undefined
  readonly #now: () => number
  #stored = 0
  #inFlight = 0
  #timer: NodeJS.Timeout | undefined

  private constructor(dir: string, options: FileStoreOptions) {
    this.dir = dir
    this.options = options
    this.#tmp = join(dir, 'tmp')
    this.#log = options.logger?.child({ component: 'files' })
    this.#now = options.now ?? Date.now
  }

  /** Opens (creating) `dir`, removes partial uploads and orphans, loads the index, starts the sweep timer. */
  static async open(dir: string, options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(dir, options)
    try {
      await mkdir(store.#tmp, { recursive: true, mode: 0o700 })
      await store.#recover()
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      throw createError('GW_ERR_DATA_DIR_UNWRITABLE', [dir, `${e.message} (${e.code ?? 'error'})`], {
        cause: err,
      })
    }
    await store.sweep()
    store.#timer = setInterval(() => {
      store.sweep().catch((err: unknown) => store.#log?.warn({ err }, 'file sweep failed'))
    }, options.sweepSec * 1000)
    store.#timer.unref()
    return store
  }

  /** Bytes of the stored files. */
  get usedBytes(): number {
    return this.#stored
  }

  /** Every stored file, oldest first. */
  list(): FileMeta[] {
    return [...this.#files.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt))
  }

  get(id: string): FileMeta | undefined {
    return isFileId(id) ? this.#files.get(id) : undefined
  }

  /** Where the content of file `id` lives (the `physicalPath` bundles read). */
  pathOf(id: string): string {
    if (!isFileId(id)) throw createError('GW_ERR_FILE_NOT_FOUND', [id])
    return join(this.dir, `${id}.data`)
  }

  /**
   * Streams `source` into the store. Throws (after removing the partial file) GW_ERR_FILE_NAME,
   * GW_ERR_FILE_TOO_LARGE or GW_ERR_FILE_QUOTA as soon as a limit is passed, GW_ERR_FILE_DISK_FULL on ENOSPC,
   * the signal's reason when aborted, and the source's own error when it fails.
   */
  async write(source: Readable, input: FileInput): Promise<FileMeta> {
    const problem = fileNameProblem(input.name)
    if (problem) throw createError('GW_ERR_FILE_NAME', [JSON.stringify(input.name), problem])
    if (this.#stored + this.#inFlight >= this.options.quotaBytes)
      throw createError('GW_ERR_FILE_QUOTA', [this.options.quotaBytes])
    const id = newFileId()
    const tmp = join(this.#tmp, `${id}.part`)
    const data = this.pathOf(id)
    let handle: FileHandle | undefined
    let reserved = 0
    let renamed = false
    // the source is read through its iterator, never destroyed here: ending the iteration of a server request
    // keeps its socket, so the error can still be answered
    const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>
    let ended = false
    try {
      if (input.signal?.aborted) throw input.signal.reason
      handle = await open(tmp, 'wx', 0o600)
      const hash = createHash('sha256')
      for (;;) {
        const next = await raced(chunks.next(), input.signal)
        if (next.done) break
        const buf = next.value
        input.onData?.()
        if (reserved + buf.length > this.options.maxFileBytes)
          throw createError('GW_ERR_FILE_TOO_LARGE', [this.options.maxFileBytes])
        if (this.#stored + this.#inFlight + buf.length > this.options.quotaBytes)
          throw createError('GW_ERR_FILE_QUOTA', [this.options.quotaBytes])
        reserved += buf.length
        this.#inFlight += buf.length
        hash.update(buf)
        await handle.write(buf)
      }
      ended = true
      if (input.signal?.aborted) throw input.signal.reason
      await handle.sync()
      await handle.close()
      handle = undefined
      await rename(tmp, data)
      renamed = true
      const now = this.#now()
      const meta: FileMeta = {
        id,
        name: input.name,
        size: reserved,
        type: cleanMediaType(input.type),
        sha256: hash.digest('hex'),
        createdAt: new Date(now).toISOString(),
        expiresAt: this.#expiryFrom(now, input.keep ?? false),
      }
      await writeFileAtomic(join(this.dir, `${id}.json`), JSON.stringify(meta), { mode: 0o600 })
      this.#files.set(id, meta)
      this.#stored += reserved
      return meta
    } catch (err) {
      await handle?.close().catch(() => {})
      await rm(tmp, { force: true }).catch(() => {})
      if (renamed) await rm(data, { force: true }).catch(() => {})
      if (!ended) void chunks.return?.().catch(() => {})
      if (errno(err) === 'ENOSPC' || errno(err) === 'EDQUOT')
        throw createError('GW_ERR_FILE_DISK_FULL', [], { cause: err })
      throw err
    } finally {
      this.#inFlight -= reserved
    }
  }

  /** Removes a file; false when there is none. */
  async remove(id: string): Promise<boolean> {
    const meta = this.get(id)
    if (!meta) return false
    this.#files.delete(id)
    this.#stored -= meta.size
    // the metadata goes first: a crash in between leaves an orphan data file, removed at the next open
    await rm(join(this.dir, `${id}.json`), { force: true })
    await rm(this.pathOf(id), { force: true })
    return true
  }

  /** Keeps a file for good (`keep`), or lets it expire `expirySec` from now again. */
  async keep(id: string, keep: boolean): Promise<FileMeta | undefined> {
    const meta = this.get(id)
    if (!meta) return undefined
    const next: FileMeta = { ...meta, expiresAt: this.#expiryFrom(this.#now(), keep) }
    await writeFileAtomic(join(this.dir, `${id}.json`), JSON.stringify(next), { mode: 0o600 })
    this.#files.set(id, next)
    return next
  }

  /** Removes every expired file; returns how many. */
  async sweep(): Promise<number> {
    const now = this.#now()
    let removed = 0
    for (const meta of [...this.#files.values()]) {
      if (meta.expiresAt !== null && Date.parse(meta.expiresAt) <= now) {
        if (await this.remove(meta.id)) removed++
      }
    }
    if (removed > 0) this.#log?.info({ removed }, 'expired uploads removed')
    return removed
  }

  /** Stops the sweep timer. Uploads in progress finish or fail on their own. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  #expiryFrom(now: number, keep: boolean): string | null {
    if (keep || this.options.expirySec === 0) return null
    return new Date(now + this.options.expirySec * 1000).toISOString()
  }

  /** Start-up: partial uploads and half-written metadata go; a data file without metadata (or vice versa) too. */
  async #recover(): Promise<void> {
    for (const name of await readdir(this.#tmp)) await rm(join(this.#tmp, name), { force: true })
    const names = await readdir(this.dir)
    const metas = new Set<string>()
    let dropped = 0
    for (const name of names) {
      if (name === 'tmp') continue
      const path = join(this.dir, name)
      const m = /^([0-9a-f]{32})\.json$/.exec(name)
      if (!m) continue
      const meta = await readMeta(path)
      const size = await stat(join(this.dir, `${m[1]}.data`)).then(
        (s) => s.size,
        () => -1,
      )
      if (!meta || meta.id !== m[1] || meta.size !== size) {
        await rm(path, { force: true })
        dropped++
        continue
      }
      metas.add(meta.id)
      this.#files.set(meta.id, meta)
      this.#stored += meta.size
    }
    for (const name of names) {
      if (name === 'tmp') continue
      const m = /^([0-9a-f]{32})\.data$/.exec(name)
      if (m && metas.has(m[1] as string)) continue
      if (m || name.startsWith('.') || !name.endsWith('.json')) {
        await rm(join(this.dir, name), { force: true, recursive: true })
        dropped++
      }
    }
    if (dropped > 0) await syncDirectory(this.dir)
    if (dropped > 0) this.#log?.warn({ dropped }, 'incomplete uploads removed at start')
  }
}

async function readMeta(path: string): Promise<FileMeta | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'))
    return isFileMeta(v) ? v : undefined
  } catch (err) {
    if (err instanceof GatewayError) throw err
    return undefined
  }
}
