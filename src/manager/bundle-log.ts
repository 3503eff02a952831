/**
 * One managed bundle's log (issue 15 "Logs", docs/manager.md "Logs"): its stdout and stderr cut into lines, each
 * stamped with time and stream, escaped, rate-capped, and appended to a rotating file.
 *
 * A bundle printing in a loop must fill neither the disk nor the gateway's CPU nor its memory: lines over the token
 * bucket are only counted; lines wait for the disk in a bounded queue (one `write` per batch, never one per line)
 * and are counted as dropped when it is full; a disk error (ENOSPC, EIO) drops the batch, counts it, and never
 * reaches the caller. Files: `<file>`, `<file>.1` … `<file>.<files-1>`, each at most `maxBytes`.
 * @module
 */

import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { LogLine } from './types.ts'

/** Options of one bundle's log. */
export interface BundleLogOptions {
  file: string
  /** Largest size of one file, bytes. */
  maxBytes: number
  /** How many files in all (the current one and `files - 1` rotated ones). */
  files: number
  /** Token bucket: lines per second on average… */
  linesPerSec: number
  /** …and at once. */
  burst: number
  /** A line longer than this (bytes) is cut; 16 KiB by default. */
  maxLineBytes?: number
  /** Clock, ms (tests). */
  now?: () => number
}

/** Most lines `tail` returns. */
export const MAX_TAIL_LINES = 10_000
const DEFAULT_MAX_LINE = 16 * 1024
/** Lines waiting for the disk, bytes: past this they are dropped (and counted). */
const MAX_QUEUE_BYTES = 1024 * 1024
const CUT_MARK = ' [cut]'
/** How often, at most, a `manager` line reports dropped lines. */
const DROP_NOTE_MS = 1000

type Stream = LogLine['stream']

/** One bundle's rotating, rate-capped log. */
export class BundleLog {
  private readonly opts: Required<BundleLogOptions>
  private readonly partial = { stdout: new Partial(), stderr: new Partial() }
  private tokens: number
  private refilledAt: number
  private droppedTotal = 0
  /** Dropped by the rate cap since the last `manager` note about it. */
  private droppedUnnoted = 0
  private noteTimer: NodeJS.Timeout | null = null
  private queue: string[] = []
  private queueBytes = 0
  private flushing: Promise<void> | null = null
  private fh: FileHandle | null = null
  private size = 0
  /** The last write stopped inside a line (disk full). */
  private torn = false
  private readonly listeners = new Set<(l: LogLine) => void>()
  private closed = false

  constructor(opts: BundleLogOptions) {
    const maxLine = Math.max(64, Math.min(opts.maxLineBytes ?? DEFAULT_MAX_LINE, opts.maxBytes))
    this.opts = { ...opts, maxLineBytes: maxLine, now: opts.now ?? Date.now, files: Math.max(1, opts.files) }
    this.tokens = opts.burst
    this.refilledAt = this.opts.now()
  }

  /** Lines dropped since this log was opened: over the rate cap, over the queue, or lost to a disk error. */
  get dropped(): number {
    return this.droppedTotal
  }

  /** A chunk of the bundle's output: complete lines are logged, the rest waits for its newline. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    if (this.closed) return
    const at = new Date(this.opts.now()).toISOString()
    for (const raw of this.partial[stream].push(chunk, this.opts.maxLineBytes)) this.admit(stream, raw, at)
  }

  /** A line of the manager's own (`manager` stream), never rate-capped. */
  note(line: string): void {
    if (this.closed) return
    this.emit({ at: new Date(this.opts.now()).toISOString(), stream: 'manager', line: escapeLine(line) })
  }

  /** The last `n` lines (at most {@link MAX_TAIL_LINES}) across the current and the rotated files, oldest first. */
  async tail(n: number): Promise<LogLine[]> {
    const want = Math.max(0, Math.min(Math.floor(n) || 0, MAX_TAIL_LINES))
    if (want === 0) return []
    await this.flushed()
    const out: LogLine[] = []
    for (let i = 0; i < this.opts.files && out.length < want; i++) {
      const text = await readFile(this.fileName(i), 'utf8').catch(() => '')
      const lines = text.split('\n')
      for (let j = lines.length - 1; j >= 0 && out.length < want; j--) {
        const parsed = parseLine(lines[j]!)
        if (parsed) out.push(parsed)
      }
    }
    return out.reverse()
  }

  /** Live lines (every line that is logged, after the rate cap); returns the unsubscribe function. */
  follow(fn: (l: LogLine) => void): () => void {
    this.listeners.add(fn)
    return () => {
      this.listeners.delete(fn)
    }
  }

  /** Logs what is left of partial lines, says what was dropped, writes everything queued, closes the file. */
  async close(): Promise<void> {
    if (this.closed) return
    const at = new Date(this.opts.now()).toISOString()
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = this.partial[stream].drain()
      if (rest) this.admit(stream, rest, at)
    }
    this.noteDrops()
    this.closed = true
    this.listeners.clear()
    await this.flushed()
    await this.fh?.close().catch(() => {})
    this.fh = null
  }

  private admit(stream: 'stdout' | 'stderr', raw: Buffer, at: string): void {
    if (!this.take()) {
      this.droppedTotal++
      this.droppedUnnoted++
      this.noteTimer ??= setTimeout(() => {
        this.noteTimer = null
        this.noteDrops()
      }, DROP_NOTE_MS).unref()
      return
    }
    this.emit({ at, stream, line: escapeLine(raw.toString('utf8')) })
  }

  private take(): boolean {
    const now = this.opts.now()
    const elapsed = Math.max(0, now - this.refilledAt) / 1000
    this.refilledAt = now
    this.tokens = Math.min(this.opts.burst, this.tokens + elapsed * this.opts.linesPerSec)
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  private noteDrops(): void {
    if (this.noteTimer) clearTimeout(this.noteTimer)
    this.noteTimer = null
    if (this.droppedUnnoted === 0) return
    const n = this.droppedUnnoted
    this.droppedUnnoted = 0
    this.note(
      `${n} line${n === 1 ? '' : 's'} dropped by the rate cap (${this.opts.linesPerSec}/s, burst ${this.opts.burst}); ${this.droppedTotal} dropped in all`,
    )
  }

  private emit(line: LogLine): void {
    let text = `${line.at} ${line.stream} ${line.line}\n`
    if (text.length > this.opts.maxBytes)
      text = `${text.slice(0, this.opts.maxBytes - CUT_MARK.length - 1)}${CUT_MARK}\n`
    const bytes = Buffer.byteLength(text)
    if (this.queueBytes + bytes > MAX_QUEUE_BYTES) {
      this.droppedTotal++
      return
    }
    this.queue.push(text)
    this.queueBytes += bytes
    for (const fn of this.listeners) {
      try {
        fn(line)
      } catch {
        // a follower's bug is not the log's
      }
    }
    this.flushing ??= this.flushLoop()
  }

  private async flushed(): Promise<void> {
    for (let f = this.flushing; f !== null; f = this.flushing) await f
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        this.queueBytes = 0
        await this.writeBatch(batch)
      }
    } finally {
      this.flushing = null
    }
  }

  /** Appends the lines, rotating before a line that would take the current file past `maxBytes`. */
  private async writeBatch(lines: string[]): Promise<void> {
    let part: string[] = []
    let partBytes = 0
    for (const line of lines) {
      const bytes = Buffer.byteLength(line)
      if (this.size + partBytes + bytes > this.opts.maxBytes && this.size + partBytes > 0) {
        await this.append(part, partBytes)
        part = []
        partBytes = 0
        await this.rotate()
      }
      part.push(line)
      partBytes += bytes
    }
    if (part.length > 0) await this.append(part, partBytes)
  }

  private async append(lines: string[], bytes: number): Promise<void> {
    if (lines.length === 0) return
    const head = this.torn ? '\n' : ''
    const buf = Buffer.from(head + lines.join(''))
    let off = 0
    try {
      const fh = await this.handle()
      // A short write (the last page of a full disk) is followed by one that fails: loop until all or an error.
      while (off < buf.length) off += (await fh.write(buf, off)).bytesWritten
      this.size += bytes + head.length
      this.torn = false
    } catch {
      // ENOSPC, EIO, EROFS: the lines not completely written are lost and counted; the next batch tries again
      // with a fresh handle, after a newline that ends the torn one.
      const rest = buf.subarray(off)
      let lost = 0
      for (let i = rest.indexOf(0x0a); i !== -1; i = rest.indexOf(0x0a, i + 1)) lost++
      this.droppedTotal += Math.min(lines.length, lost)
      this.size += off
      this.torn = off > 0 && buf[off - 1] !== 0x0a
      await this.fh?.close().catch(() => {})
      this.fh = null
    }
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh) return this.fh
    await mkdir(dirname(this.opts.file), { recursive: true })
    const fh = await open(this.opts.file, 'a', 0o600)
    this.size = (await fh.stat()).size
    this.fh = fh
    if (this.size >= this.opts.maxBytes) {
      await this.rotate()
      return this.handle()
    }
    return fh
  }

  /** `<file>.<files-2>` → `<file>.<files-1>` … `<file>` → `<file>.1`; a fresh `<file>` on the next write. */
  private async rotate(): Promise<void> {
    await this.fh?.close().catch(() => {})
    this.fh = null
    this.size = 0
    try {
      if (this.opts.files === 1) {
        await unlink(this.opts.file).catch(ignoreMissing)
        return
      }
      for (let i = this.opts.files - 2; i >= 0; i--) {
        await rename(this.fileName(i), this.fileName(i + 1)).catch(ignoreMissing)
      }
    } catch {
      // a rename that fails (EIO): the next open appends to what is there, still capped at maxBytes
      this.size = await stat(this.opts.file).then(
        (s) => s.size,
        () => 0,
      )
    }
  }

  private fileName(i: number): string {
    return i === 0 ? this.opts.file : `${this.opts.file}.${i}`
  }
}

/** The unfinished last line of one stream, bounded by `maxLineBytes`. */
class Partial {
  private parts: Buffer[] = []
  private bytes = 0
  /** Past `maxLineBytes`: the cut line is logged, the rest of it is skipped up to its newline. */
  private skipping = false

  /** Appends `chunk`; returns the lines it completed (or cut). */
  push(chunk: Buffer, max: number): Buffer[] {
    const out: Buffer[] = []
    let start = 0
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start)
      const end = nl === -1 ? chunk.length : nl
      if (!this.skipping) this.add(chunk.subarray(start, end), max, out)
      if (nl === -1) break
      if (!this.skipping) out.push(this.take(false))
      this.skipping = false
      start = nl + 1
    }
    return out
  }

  /** What is left, as a line (at close). */
  drain(): Buffer | null {
    if (this.bytes === 0 || this.skipping) return null
    return this.take(false)
  }

  private add(piece: Buffer, max: number, out: Buffer[]): void {
    if (this.bytes + piece.length <= max) {
      if (piece.length > 0) this.parts.push(piece)
      this.bytes += piece.length
      return
    }
    this.parts.push(piece.subarray(0, max - this.bytes))
    this.bytes = max
    out.push(this.take(true))
    this.skipping = true
  }

  private take(cut: boolean): Buffer {
    const line = Buffer.concat(cut ? [...this.parts, Buffer.from(CUT_MARK)] : this.parts)
    this.parts = []
    this.bytes = 0
    const end = !cut && line.at(-1) === 0x0d ? line.length - 1 : line.length
    return line.subarray(0, end)
  }
}

/**
 * Escapes what could forge or garble a line: C0 and C1 controls (newline, carriage return, ESC of ANSI sequences),
 * DEL and the Unicode line and paragraph separators, each as `\xNN` or `\uNNNN`. A backslash stays as it is.
 */
export function escapeLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`
  })
}

const LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (stdout|stderr|manager) (.*)$/

function parseLine(text: string): LogLine | undefined {
  const m = LINE.exec(text)
  if (!m) return undefined
  return { at: m[1]!, stream: m[2] as Stream, line: m[3]! }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err
}
