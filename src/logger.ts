import { type Logger, type LoggerOptions, pino } from 'pino'

export type { Logger } from 'pino'

/** Options of the root logger. */
export interface LoggerConfig {
  /** pino level. @default process.env.LOG_LEVEL ?? 'info' */
  level?: string
  /** Where lines go; default stdout. Tests pass a sink. */
  destination?: NodeJS.WritableStream
  /** Base bindings of every line. */
  base?: Record<string, unknown>
}

/** Secrets never reach a log line. */
export const REDACT_PATHS = [
  'req.headers["mx-api-token"]',
  'req.headers.authorization',
  '*.token',
  '*.secret',
  '*.password',
]

/** The root pino logger; areas use `logger.child({ component })`. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: config.base ?? { pid: process.pid },
  }
  return config.destination ? pino(options, config.destination as pino.DestinationStream) : pino(options)
}

/** A logger that writes nothing (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
