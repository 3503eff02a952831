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

const QUERY_TOKEN = /([?&;]mx-api-token=)[^&#\s"]*/gi

/**
 * `text` with the value of every `mx-api-token=` query parameter replaced by `[redacted]`: the push channel accepts
 * the token in the URL (http-api.md [HA-3] item 4), and URLs end up in log lines.
 */
export function redactQueryToken(text: string): string {
  return /mx-api-token=/i.test(text) ? text.replace(QUERY_TOKEN, '$1[redacted]') : text
}

/** `o` as seen through a proxy whose `url` has its query token redacted; everything else unchanged. */
function withRedactedUrl(o: object): object {
  return new Proxy(o, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      return prop === 'url' && typeof value === 'string' ? redactQueryToken(value) : value
    },
  })
}

/** Redacts query tokens in the string fields of a log object, two levels deep (`url`, `req.url`, `err.message`). */
function scrubQueryTokens(o: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out = o
  for (const [k, v] of Object.entries(o)) {
    let w = v
    if (typeof v === 'string') w = redactQueryToken(v)
    else if (v instanceof Error) {
      const text = `${v.message}\n${v.stack ?? ''}`
      if (redactQueryToken(text) !== text) {
        // a copy of the same class (pino names it by its constructor), own fields kept
        w = Object.assign(Object.create(Object.getPrototypeOf(v)) as Error, v, {
          message: redactQueryToken(v.message),
          stack: redactQueryToken(v.stack ?? ''),
        })
      }
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const proto = Object.getPrototypeOf(v)
      if (proto === Object.prototype || proto === null) {
        if (depth < 2) w = scrubQueryTokens(v as Record<string, unknown>, depth + 1)
      } else {
        // a request object (fastify's or node's): its serializer reads `url`, often through a getter
        const url = (v as { url?: unknown }).url
        if (typeof url === 'string' && redactQueryToken(url) !== url) w = withRedactedUrl(v)
      }
    }
    if (w !== v) {
      if (out === o) out = { ...o }
      out[k] = w
    }
  }
  return out
}

/** The root pino logger; areas use `logger.child({ component })`. */
export function createLogger(config: LoggerConfig = {}): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    formatters: { log: (o) => scrubQueryTokens(o) },
    hooks: {
      logMethod(args, method) {
        // the message itself (and its printf arguments)
        const clean = args.map((a) => (typeof a === 'string' ? redactQueryToken(a) : a)) as typeof args
        method.apply(this, clean)
      },
    },
    base: config.base ?? { pid: process.pid },
  }
  return config.destination ? pino(options, config.destination as pino.DestinationStream) : pino(options)
}

/** A logger that writes nothing (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
