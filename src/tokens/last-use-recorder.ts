import type Database from 'better-sqlite3'
import type { Logger } from '../logger.ts'

/** What {@link LastUseRecorder} takes. */
export interface LastUseRecorderOptions {
  /**
   * `UPDATE … SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`: the time, the id
   * and the threshold, so that two processes accepting the same secret at once write it once.
   */
  touch: Database.Statement<[string, string, string]>
  /** `last_used_at` is written at most once per this many ms per row. @example 60_000 */
  resolutionMs: number
  log: Logger
  /** The warning logged when the write fails. @example 'cannot record the last use of a token' */
  failureMessage: string
  /** After a failed write, write nothing for `resolutionMs` (a full disk is not retried on every request). */
  pauseAfterFailure: boolean
}

/**
 * Records when a secret was last accepted, throttled so that requests do not cause writes. A failed write (full or
 * read-only disk) is logged and never refuses the secret.
 */
export class LastUseRecorder {
  readonly #options: LastUseRecorderOptions
  /** No writes before this time (ms): set after a failed write when `pauseAfterFailure`. */
  #pausedUntil = 0

  constructor(options: LastUseRecorderOptions) {
    this.#options = options
  }

  /** Writes `now` as the last use of `row` when the last one is older than the resolution; updates `row` too. */
  record(row: { id: string; last_used_at: string | null }, now: number): void {
    const { touch, resolutionMs, log, failureMessage, pauseAfterFailure } = this.#options
    const due = row.last_used_at === null || now - Date.parse(row.last_used_at) >= resolutionMs
    if (!due || now < this.#pausedUntil) return
    const at = new Date(now).toISOString()
    const threshold = new Date(now - resolutionMs).toISOString()
    try {
      if (touch.run(at, row.id, threshold).changes > 0) row.last_used_at = at
    } catch (err) {
      if (pauseAfterFailure) this.#pausedUntil = now + resolutionMs
      log.warn({ err, id: row.id }, failureMessage)
    }
  }
}
