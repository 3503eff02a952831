import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { type Config, loadConfig } from '../../src/config/index.ts'
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

/**
 * A gateway on free loopback ports (embedded broker unless `url`), with its data dir and token file in a temp dir,
 * and `events.*` overrides when given.
 */
export async function startTestGateway(
  overrides: {
    mode?: 'default' | 'sanji-compat'
    liveness?: boolean
    url?: string
    /** More broker settings: credentials and TLS files with `url`; `auth: 'on'` for the embedded broker. */
    broker?: Partial<Config['broker']>
    auth?: boolean
    debug?: boolean
    events?: Partial<Config['events']>
    /** More controller settings (registration bounds, `controller.*`). */
    controller?: Partial<Config['controller']>
    metrics?: Partial<Config['metrics']>
    /** More `http` settings (timeouts, the connection cap, allowed hosts). */
    http?: Partial<Config['http']>
    files?: Partial<Config['files']>
    /** The fleet uplink (`fleet.*`, docs/fleet.md). */
    fleet?: Partial<Config['fleet']>
    manager?: Partial<Config['manager']>
    /** Use this data directory (kept at close: the caller owns it) instead of a fresh temp one. */
    dataDir?: string
  } = {},
  logger?: Logger,
): Promise<Gateway & { rootToken: string; dataDir: string }> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'bg-gw-')))
  const config = await loadConfig({
    env: {},
    flags: {
      broker: overrides.url
        ? { url: overrides.url, ...overrides.broker }
        : { host: '127.0.0.1', port: 0, ...overrides.broker },
      controller: {
        mode: overrides.mode ?? 'default',
        liveness: overrides.liveness ?? true,
        ...overrides.controller,
      },
      http: {
        host: '127.0.0.1',
        port: 0,
        auth: overrides.auth ?? true,
        debug: overrides.debug ?? false,
        ...overrides.http,
      },
      data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
      log: { level: 'silent' },
      ...(overrides.events ? { events: overrides.events } : {}),
      ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
      ...(overrides.files ? { files: overrides.files } : {}),
      ...(overrides.fleet ? { fleet: overrides.fleet } : {}),
      ...(overrides.manager ? { manager: overrides.manager } : {}),
    },
  })
  let gateway: Gateway
  try {
    gateway = await startGateway(config, logger ? { logger } : {})
  } catch (err) {
    if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true })
    throw err
  }
  const rootToken = gateway.tokenFile ? (await readFile(gateway.tokenFile, 'utf8')).trim() : ''
  const close = gateway.close.bind(gateway)
  return Object.assign(gateway, {
    rootToken,
    dataDir,
    close: async () => {
      await close()
      if (!overrides.dataDir) await rm(dataDir, { recursive: true, force: true })
    },
  })
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
