import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../logger.ts'

/** One log line, as pino wrote it (`level`, `msg`, `bundle`, `component`, `err`, …). */
export type LogLine = Record<string, unknown>

/** Lines kept at most: older ones are dropped. */
const MAX_LINES = 1000

/**
 * A logger that prints nothing and keeps its warnings and errors in `lines` (so a failing test can show why a
 * bundle did not register or why a handler answered 500).
 */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString().split('\n')) {
        if (!text.trim()) continue
        try {
          lines.push(JSON.parse(text) as LogLine)
        } catch {
          lines.push({ msg: text })
        }
        if (lines.length > MAX_LINES) lines.shift()
      }
      callback()
    },
  })
  return { logger: createLogger({ level: 'warn', destination: stream }), lines }
}
