import { Writable } from 'node:stream'
import pino from 'pino'
import { loadConfig } from '../../src/config/index.ts'
import type { Logger } from '../../src/logger.ts'
import { type Gateway, startGateway } from '../../src/server.ts'

/** A pino logger whose lines are kept as parsed objects (pino's sink idea). */
export function logSink(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { logger: pino({ level }, stream), lines }
}

/** A gateway with the embedded broker on a free loopback port. */
export async function startTestGateway(
  overrides: { mode?: 'default' | 'sanji-compat'; liveness?: boolean; url?: string } = {},
  logger?: Logger,
): Promise<Gateway> {
  const config = await loadConfig({
    env: {},
    flags: {
      broker: overrides.url ? { url: overrides.url } : { host: '127.0.0.1', port: 0 },
      controller: { mode: overrides.mode ?? 'default', liveness: overrides.liveness ?? true },
      log: { level: 'silent' },
    },
  })
  return startGateway(config, logger ? { logger } : {})
}

/** Resolves when `predicate` holds, polling every 10 ms; rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Cleanups that run last-in first-out after the test (t.after runs hooks in registration order). */
export function lifo(t: { after: (fn: () => Promise<void>) => void }): (fn: () => unknown) => void {
  const fns: Array<() => unknown> = []
  t.after(async () => {
    for (const fn of fns.reverse()) await fn()
  })
  return (fn) => {
    fns.push(fn)
  }
}
