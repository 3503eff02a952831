/**
 * The gateway of the test kit: a temp directory, the configuration (free loopback ports, the root token file in
 * the temp data directory, logs captured), the gateway started on it and its root token read.
 * @module
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../config/index.ts'
import { createLogger, type Logger } from '../logger.ts'
import { type Gateway, startGateway } from '../server.ts'
import { captureLogger, type LogLine } from './log-capture.ts'
import type { TestGatewayOptions } from './test-gateway.ts'

/** A started test gateway and what the kit keeps of its start. */
export interface LaunchedGateway {
  /** The temp directory: the data directory and the bundles' copies live under it. */
  root: string
  dataDir: string
  gateway: Gateway
  /** The root (admin) token; `''` when `auth` is false. */
  token: string
  /** The logger of the gateway (and of bundles without one of their own). */
  logger: Logger
  /** Warnings and errors of the capturing logger. */
  lines: LogLine[]
}

/** Starts the gateway; on a failure nothing is left: the gateway is closed and the temp directory removed. */
export async function launchGateway(options: TestGatewayOptions): Promise<LaunchedGateway> {
  const root = await mkdtemp(join(tmpdir(), 'bundlegate-test-'))
  const dataDir = join(root, 'gateway')
  const capture = captureLogger()
  const logger =
    options.logger ?? (options.logLevel ? createLogger({ level: options.logLevel }) : capture.logger)
  let gateway: Gateway
  let token: string
  try {
    const config = await loadConfig({
      env: {},
      flags: {
        broker: { host: '127.0.0.1', port: 0 },
        controller: { mode: options.mode ?? 'default', liveness: options.liveness ?? true },
        http: {
          host: '127.0.0.1',
          port: 0,
          auth: options.auth ?? true,
          debug: options.debug ?? false,
          console: options.console ?? false,
        },
        data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
        log: { level: 'silent' },
      },
    })
    await mkdir(dataDir, { recursive: true })
    gateway = await startGateway(config, { logger })
    try {
      token = gateway.tokenFile ? (await readFile(gateway.tokenFile, 'utf8')).trim() : ''
    } catch (err) {
      await gateway.close()
      throw err
    }
  } catch (err) {
    await rm(root, { recursive: true, force: true })
    throw err
  }
  return { root, dataDir, gateway, token, logger, lines: capture.lines }
}
