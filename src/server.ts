/**
 * Bundlegate server entry: the broker (embedded or external), the controller, the token store and the web
 * service, composed from their areas. The steps live in src/server/; startGateway runs them in order.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { BrokerCredentialStore, EmbeddedBroker } from './broker/index.ts'
import { type Config, loadConfig } from './config/index.ts'
import type { Controller, ControllerCoreOptions } from './controller/index.ts'
import type { FileStore } from './files/index.ts'
import type { Fleet } from './fleet/index.ts'
import { createLogger, type Logger } from './logger.ts'
import type { BundleManager } from './manager/index.ts'
import type { GatewayMetrics } from './metrics/index.ts'
import {
  Closers,
  controllerOptions,
  listenMetrics,
  openAuthStores,
  openFileStore,
  openManager,
  openMetrics,
  type Phase,
  startGatewayBroker,
  startGatewayController,
  startGatewayFleet,
  startWebService,
} from './server/index.ts'
import { ensureRootToken, type TokenStore } from './tokens/index.ts'
import type { ConsoleUsers } from './users/index.ts'

export type { Config } from './config/index.ts'
export { DEFAULTS, loadConfig } from './config/index.ts'
export type { ComponentInfo, Controller, Outcome } from './controller/index.ts'
export { GATEWAY_RESOURCES } from './server/index.ts'

/** A running gateway. */
export interface Gateway {
  readonly config: Readonly<Config>
  /** Where bundles connect. */
  readonly brokerUrl: string
  /** The embedded broker, unless an external one is configured. */
  readonly broker: EmbeddedBroker | undefined
  readonly controller: Controller
  /** The web service (already listening). */
  readonly http: FastifyInstance
  /** `http://host:port`. */
  readonly httpUrl: string
  /** The token store, unless authentication is off. */
  readonly tokens: TokenStore | undefined
  /** The root token file, unless authentication is off. */
  readonly tokenFile: string | undefined
  /** The console's users and sessions, unless authentication is off. */
  readonly consoleUsers: ConsoleUsers | undefined
  /** The MQTT credentials of bundles, when the embedded broker requires authentication (docs/security.md). */
  readonly brokerCredentials: BrokerCredentialStore | undefined
  /** The file service's store (`<data.dir>/files`). */
  readonly files: FileStore
  /** The bundle manager (docs/manager.md): installed bundles, started after the web service listens. */
  readonly manager: BundleManager
  readonly logger: Logger
  /** The gateway's metrics, unless `metrics.enabled` is false (docs/observability.md). */
  readonly metrics: GatewayMetrics | undefined
  /** `http://host:port` of the separate metrics listener, when `metrics.host` is set. */
  readonly metricsUrl: string | undefined
  /** The fleet uplink, when `fleet.url` is set (docs/fleet.md). */
  readonly fleet: Fleet | undefined
  close(): Promise<void>
}

/** Extra wiring that is not configuration (tests pass a logger sink or a fake clock). */
export interface GatewayDeps {
  logger?: Logger
  controller?: Pick<ControllerCoreOptions, 'clock'>
}

/**
 * Starts the broker, the controller, the token store (creating the root token file when missing) and the web
 * service. With `broker.url` set, the controller connects to that broker and no embedded broker starts.
 */
export async function startGateway(config?: Readonly<Config>, deps: GatewayDeps = {}): Promise<Gateway> {
  const cfg = config ?? (await loadConfig())
  const logger = deps.logger ?? createLogger({ level: cfg.log.level })
  const log = logger.child({ component: 'gateway' })
  const closers = new Closers() // the shutdown: everything below, closed in reverse
  const phase: Phase = { starting: true, closing: false }
  try {
    const auth = await openAuthStores(cfg, logger, log, closers)
    const metrics = openMetrics(cfg, closers)
    const coreOptions = controllerOptions(cfg, logger, metrics, deps.controller)
    const mqtt = await startGatewayBroker(cfg, logger, log, closers)
    const controller = await startGatewayController(mqtt, coreOptions, metrics, closers)
    const metricsListener = await listenMetrics(cfg, metrics, logger, closers)
    const fleet = startGatewayFleet(cfg, controller, logger, closers)
    const files = await openFileStore(cfg, logger, closers)
    const manager = await openManager(cfg, controller, mqtt, auth, logger, closers)
    const parts = { ...auth, controller, files, metrics, fleet, manager, logger, phase }
    const { http, httpUrl } = await startWebService(cfg, parts, closers)
    // Every listener is bound: only now the first-start side effects that print or write a one-time secret, so
    // that a start that fails (a busy port) consumes none of them and the retry shows them (issue 12).
    if (auth.tokens && auth.tokenFile) await ensureRootToken(auth.tokens, auth.tokenFile, { logger })
    await auth.consoleUsers?.ensureInitialAdmin()
    phase.starting = false
    log.info(
      {
        url: `${httpUrl}/api/v1`,
        console: cfg.http.console ? `${httpUrl}/` : undefined,
        tokenFile: auth.tokenFile,
      },
      'web service listening',
    )
    manager.setHttpUrl(httpUrl)
    void manager.startAll().catch((err) => log.error({ err }, 'starting the managed bundles failed'))
    return {
      config: cfg,
      brokerUrl: mqtt.brokerUrl,
      broker: mqtt.broker,
      controller,
      http,
      httpUrl,
      ...auth,
      brokerCredentials: mqtt.brokerCredentials,
      files,
      manager,
      logger,
      metrics,
      metricsUrl: metricsListener?.url,
      fleet,
      close() {
        phase.closing = true
        return closers.closeAll()
      },
    }
  } catch (err) {
    await closers.closeAll()
    throw err
  }
}
