/**
 * Unpacks a bundle upload (a gzip'ed tar, issue 15 "Install") into a fresh directory, refusing anything that could
 * write outside it or grow past its caps (docs/manager.md "Installing from a tarball", docs/security.md).
 *
 * Every byte is hostile: the compressed stream is counted as it arrives, the decompressed stream is counted, every
 * file's bytes are counted as they are written (not as its header claims), and every entry is checked before anything
 * of it touches the disk. Links of any kind are refused: with no link on disk, no later entry can be written through
 * one, so a lexical path check is enough (checking link targets would need a resolution of every later path through
 * every earlier link, the classic source of tar escapes). On any refusal or error the directory is removed once every
 * file operation in flight has settled, so nothing is left behind.
 * @module
 */
import { constants } from 'node:fs'
import { chmod, type FileHandle, mkdir, open, readdir, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { createGunzip } from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import { createError } from '../errors.ts'
import {
  entryError,
  errorText,
  gzipText,
  pathProblem,
  quote,
  refuse,
  segments,
  tarError,
  toGatewayError,
  typeName,
  unpackedTooLarge,
} from './tarball-refusals.ts'

/** Caps of one unpack. */
export interface TarballLimits {
  maxCompressedBytes: number
  maxUnpackedBytes: number
  maxEntries: number
}

/** Largest pax / GNU long-name header accepted (a path, not a payload). */
const MAX_META_BYTES = 16 * 1024
/** Tar framing allowed per entry on top of its data: header, padding, a long-name or pax header. */
const FRAMING_PER_ENTRY = 2 * 512 + 2 * (MAX_META_BYTES + 512)
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile'])

/**
 * Streams the gzip'ed tar `source` into `destDir`, which must not exist yet (its parent must); it is created 0700.
 * Resolves with the bundle's root: `destDir`, or its single top-level folder when the tarball wraps everything in
 * one (`example/bundle.json`). Rejects with a `GW_ERR_MANAGER_TARBALL_*` error, `destDir` removed. On a refusal the
 * source is left paused, not destroyed: the caller answers and closes it.
 */
export async function unpackTarball(
  source: NodeJS.ReadableStream,
  destDir: string,
  limits: TarballLimits,
): Promise<{ root: string }> {
  try {
    await mkdir(destDir, { mode: 0o700 })
    await chmod(destDir, 0o700)
  } catch (err) {
    throw createError('GW_ERR_MANAGER_TARBALL_WRITE', [destDir, errorText(err)], { cause: err })
  }
  try {
    await new Unpacker(destDir, limits).run(source)
    return { root: await findRoot(destDir) }
  } catch (err) {
    await rm(destDir, { recursive: true, force: true })
    throw toGatewayError(err, destDir)
  }
}

/** One run: the byte counters, the serial chain of entry writes, the first failure. */
class Unpacker {
  private compressed = 0
  private decompressed = 0
  private unpacked = 0
  private entries = 0
  private head: Buffer | null = Buffer.alloc(0)
  private innerChecked = false
  private failure: unknown = null
  /** The entry whose data is being written, destroyed on a failure so that its write loop ends. */
  private current: ReadEntry | null = null
  /** Ends the write loop of the current entry once its write in flight is done. */
  private stopCurrent: (() => void) | null = null
  /** Every disk operation runs on this chain, one entry after the other. */
  private chain: Promise<void> = Promise.resolve()
  private readonly maxDecompressed: number
  private readonly dir: string
  private readonly limits: TarballLimits

  constructor(dir: string, limits: TarballLimits) {
    this.dir = dir
    this.limits = limits
    this.maxDecompressed = limits.maxUnpackedBytes + (limits.maxEntries + 2) * FRAMING_PER_ENTRY
  }

  run(source: NodeJS.ReadableStream): Promise<void> {
    const gunzip = createGunzip()
    const parser = new Parser({ strict: true, zstd: false, maxMetaEntrySize: MAX_META_BYTES })
    return new Promise<void>((resolve, reject) => {
      const fail = (err: unknown): void => {
        if (this.failure) return
        this.failure = err
        source.removeListener('data', onData)
        source.removeListener('end', onEnd)
        source.pause()
        gunzip.destroy()
        parser.abort(err instanceof Error ? err : new Error(String(err)))
        this.current?.pause()
        this.stopCurrent?.()
        // Wait for the entry being written so that nothing lands after the caller removes the directory.
        this.chain.then(
          () => reject(err),
          () => reject(err),
        )
      }
      const onData = (chunk: Buffer | string): void => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        try {
          this.countCompressed(buf)
        } catch (err) {
          fail(err)
          return
        }
        if (!gunzip.write(buf)) {
          source.pause()
          gunzip.once('drain', () => this.failure || source.resume())
        }
      }
      const onEnd = (): void => {
        if (this.head !== null) {
          fail(createError('GW_ERR_MANAGER_TARBALL_FORMAT', ['empty upload']))
          return
        }
        gunzip.end()
      }
      source.on('data', onData)
      source.on('end', onEnd)
      source.on('error', fail)
      gunzip.on('error', (err) => fail(createError('GW_ERR_MANAGER_TARBALL_FORMAT', [gzipText(err)])))
      gunzip.on('data', (chunk: Buffer) => {
        try {
          this.countDecompressed(chunk)
        } catch (err) {
          fail(err)
          return
        }
        if (!parser.write(chunk)) {
          gunzip.pause()
          parser.once('drain', () => this.failure || gunzip.resume())
        }
      })
      gunzip.on('end', () => parser.end())
      parser.on('error', (err: Error) => fail(this.failure ?? tarError(err)))
      parser.on('ignoredEntry', (entry: ReadEntry) =>
        fail(refuse(entry.path, `a pax or long-name header over ${MAX_META_BYTES} bytes`)),
      )
      parser.on('entry', (entry: ReadEntry) => this.onEntry(entry, fail))
      parser.on('end', () => {
        this.chain.then(
          () => (this.failure ? undefined : resolve()),
          (err) => fail(err),
        )
      })
      source.resume()
    })
  }

  private countCompressed(buf: Buffer): void {
    this.compressed += buf.length
    if (this.compressed > this.limits.maxCompressedBytes) {
      throw createError('GW_ERR_MANAGER_TARBALL_TOO_LARGE', [
        `more than ${this.limits.maxCompressedBytes} compressed bytes`,
      ])
    }
    if (this.head === null) return
    this.head = Buffer.concat([this.head, buf])
    if (this.head.length < 2) return
    if (this.head[0] !== 0x1f || this.head[1] !== 0x8b) {
      throw createError('GW_ERR_MANAGER_TARBALL_FORMAT', ['it does not start with the gzip magic bytes'])
    }
    this.head = null
  }

  private countDecompressed(chunk: Buffer): void {
    if (!this.innerChecked && chunk.length >= 2) {
      this.innerChecked = true
      // The tar parser would sniff and unpack a second compression layer; one layer is what was asked for.
      if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
        throw createError('GW_ERR_MANAGER_TARBALL_FORMAT', ['a gzip stream inside the gzip stream'])
      }
    }
    this.decompressed += chunk.length
    if (this.decompressed > this.maxDecompressed) {
      throw createError('GW_ERR_MANAGER_TARBALL_TOO_LARGE', [
        `the tar stream unpacks past ${this.maxDecompressed} bytes (files capped at ${this.limits.maxUnpackedBytes})`,
      ])
    }
  }

  private onEntry(entry: ReadEntry, fail: (err: unknown) => void): void {
    if (this.failure) {
      entry.resume()
      return
    }
    this.entries++
    if (this.entries > this.limits.maxEntries) {
      fail(createError('GW_ERR_MANAGER_TARBALL_TOO_LARGE', [`more than ${this.limits.maxEntries} entries`]))
      return
    }
    let target: string | null
    try {
      target = this.check(entry)
    } catch (err) {
      fail(err)
      return
    }
    const step = this.chain.then(() => (this.failure ? undefined : this.place(entry, target)))
    this.chain = step.catch((err) => {
      fail(err)
    })
  }

  /** Refuses what may not be unpacked; returns the path to write, or null for the root directory itself. */
  private check(entry: ReadEntry): string | null {
    const reason = pathProblem(entry.path)
    if (reason) throw refuse(entry.path, reason)
    const type = entry.type
    if (type === 'SymbolicLink' || type === 'Link') {
      throw refuse(
        entry.path,
        `a ${type === 'Link' ? 'hard' : 'symbolic'} link (to ${quote(entry.linkpath)})`,
      )
    }
    if (type !== 'Directory' && !FILE_TYPES.has(type)) throw refuse(entry.path, `a ${typeName(type)}`)
    if (FILE_TYPES.has(type) && this.unpacked + (entry.size ?? 0) > this.limits.maxUnpackedBytes) {
      throw unpackedTooLarge(this.limits.maxUnpackedBytes, entry.path)
    }
    const parts = segments(entry.path)
    if (parts.length === 0) {
      if (type !== 'Directory') throw refuse(entry.path, 'a file without a name')
      return null
    }
    return join(this.dir, ...parts)
  }

  private async place(entry: ReadEntry, target: string | null): Promise<void> {
    this.current = entry
    try {
      if (entry.type === 'Directory') {
        if (target) await mkdir(target, { recursive: true, mode: 0o755 })
        entry.resume()
        return
      }
      await mkdir(dirname(target!), { recursive: true, mode: 0o755 })
      await this.writeFile(entry, target!)
    } catch (err) {
      entry.resume()
      throw entryError(err, entry.path)
    } finally {
      this.current = null
    }
  }

  private async writeFile(entry: ReadEntry, target: string): Promise<void> {
    const exec = ((entry.mode ?? 0o644) & 0o111) !== 0
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
    const fh = await open(target, flags, 0o600)
    try {
      // Keep the executable bit; never setuid, setgid, sticky or group/world write; no chown.
      await fh.chmod(exec ? 0o755 : 0o644)
      if (!this.failure) await this.copyBody(entry, fh)
    } finally {
      await fh.close()
    }
  }

  /**
   * Writes the entry's data one chunk at a time (the entry paused while a write is in flight, which holds the
   * parser and the gunzip back). Settles once no write is in flight: at the end, on a cap, or when `fail` stops it.
   */
  private copyBody(entry: ReadEntry, fh: FileHandle): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let busy = false
      let ended = false
      const settle = (err?: unknown): void => {
        this.stopCurrent = null
        entry.pause()
        if (err) reject(err)
        else resolve()
      }
      this.stopCurrent = () => (busy ? undefined : settle())
      entry.on('data', (chunk: Buffer) => {
        if (this.failure) return
        this.unpacked += chunk.length
        if (this.unpacked > this.limits.maxUnpackedBytes) {
          settle(unpackedTooLarge(this.limits.maxUnpackedBytes, entry.path))
          return
        }
        busy = true
        entry.pause()
        fh.write(chunk).then(
          () => {
            busy = false
            if (this.failure || ended) settle()
            else entry.resume()
          },
          (err: unknown) => settle(err),
        )
      })
      entry.on('end', () => {
        ended = true
        if (!busy) settle()
      })
      entry.resume()
    })
  }
}

/** `destDir` itself, or its one top-level folder when that holds bundle.json and destDir does not. */
async function findRoot(dir: string): Promise<string> {
  if (await isFile(join(dir, 'bundle.json'))) return dir
  const names = await readdir(dir, { withFileTypes: true })
  const only = names.length === 1 ? names[0] : undefined
  if (only?.isDirectory()) {
    const inner = join(dir, only.name)
    if (await isFile(join(inner, 'bundle.json'))) return inner
    throw createError('GW_ERR_MANAGER_TARBALL_NO_MANIFEST', [
      `neither bundle.json nor ${only.name}/bundle.json is a file`,
    ])
  }
  throw createError('GW_ERR_MANAGER_TARBALL_NO_MANIFEST', [
    names.length === 0 ? 'the tarball is empty' : `no bundle.json at its top among ${names.length} entries`,
  ])
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}
