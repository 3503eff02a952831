/**
 * Bundlegate server entry: the broker (embedded or external), the controller, the token store and the web
 * service, composed from their areas.
 * @module
 */
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { brokerAuthRequired, type EmbeddedBroker, isLoopbackHost, startBroker } from './broker/index.ts'
import { type Config, loadConfig } from './config/index.ts'
import {
  type Controller,
  type ControllerCoreOptions,
  type RegistrationLimits,
  type ReservedPattern,
  startController,
} from './controller/index.ts'
import { createError } from './errors.ts'
import { FileStore, UploadTickets } from './files/index.ts'
import { buildGateway, GATEWAY_PREFIXES } from './gateway/index.ts'
import { createLogger, type Logger } from './logger.ts'
import { BundleManager } from './manager/index.ts'
import { GatewayMetrics, type MetricsListener, startMetricsListener } from './metrics/index.ts'
import { readPem } from './read-pem.ts'
import { BrokerCredentialStore, defaultTokenFilePath, ensureRootToken, TokenStore } from './tokens/index.ts'
import { type ConsoleUsers, openConsoleUsers } from './users/index.ts'

export type { Config } from './config/index.ts'
export { DEFAULTS, loadConfig } from './config/index.ts'
export type { ComponentInfo, Controller, Outcome } from './controller/index.ts'

/** Resources the web service serves itself: no bundle may register them or anything below them ([HA-11]). */
export const GATEWAY_RESOURCES: readonly ReservedPattern[] = GATEWAY_PREFIXES.map((prefix) => ({
  prefix,
  owner: 'gateway',
}))

/** The registration bounds of `controller.*` (docs/config.md). */
function registrationLimits(c: Config['controller']): RegistrationLimits {
  return {
    maxComponentsPerClient: c.maxComponentsPerClient,
    maxComponents: c.maxComponents,
    maxResourcesPerComponent: c.maxResourcesPerComponent,
    maxResources: c.maxResources,
    registrationsPerSec: c.registrationsPerSec,
    registrationBurst: c.registrationBurst,
  }
}

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
  const opened: Array<() => Promise<void> | void> = []
  const unwind = async () => {
    for (const close of opened.reverse()) await close()
  }
  try {
    let tokens: TokenStore | undefined
    let tokenFile: string | undefined
    let consoleUsers: ConsoleUsers | undefined
    if (cfg.http.auth) {
      const dataDir = resolve(cfg.data.dir)
      tokens = TokenStore.open(dataDir, { logger })
      const store = tokens
      opened.push(() => store.close())
      tokenFile = cfg.data.tokenFile ? resolve(cfg.data.tokenFile) : defaultTokenFilePath(dataDir)
      // The root token file and the console's admin user come last, once every listener is bound (below).
      if (cfg.http.console) {
        const cu = await openConsoleUsers(dataDir, cfg.http, logger)
        consoleUsers = cu
        opened.push(() => cu.users.close())
      }
    } else {
      log.warn('authentication is OFF: every caller of /api/v1 is an admin (development only)')
    }

    const metrics = cfg.metrics.enabled ? new GatewayMetrics() : undefined
    if (metrics) opened.push(() => metrics.close())
    const coreOptions: ControllerCoreOptions = {
      mode: cfg.controller.mode,
      liveness: cfg.controller.liveness,
      localId: cfg.controller.localId || undefined,
      logger,
      reserved: GATEWAY_RESOURCES,
      limits: registrationLimits(cfg.controller),
      ...(metrics ? { observer: metrics.observer } : {}),
      jsonDepth: cfg.limits.jsonDepth,
      ...deps.controller,
    }
    let broker: EmbeddedBroker | undefined
    let controller: Controller
    let brokerUrl: string
    let brokerCredentials: BrokerCredentialStore | undefined
    if (cfg.broker.url) {
      const mqtt: Record<string, string | Buffer> = {}
      if (cfg.broker.username) mqtt.username = cfg.broker.username
      if (cfg.broker.password) mqtt.password = cfg.broker.password
      if (cfg.broker.caFile) mqtt.ca = readPem(cfg.broker.caFile, 'broker.caFile')
      if (cfg.broker.certFile) mqtt.cert = readPem(cfg.broker.certFile, 'broker.certFile')
      if (cfg.broker.keyFile) mqtt.key = readPem(cfg.broker.keyFile, 'broker.keyFile')
      controller = await startController(
        { external: { url: cfg.broker.url, mqtt, connectTimeoutMs: cfg.broker.connectTimeoutMs } },
        coreOptions,
      )
      brokerUrl = cfg.broker.url
    } else {
      if (brokerAuthRequired(cfg.broker)) {
        const store = BrokerCredentialStore.open(resolve(cfg.data.dir), { logger })
        brokerCredentials = store
        opened.push(() => store.close())
      } else if (!isLoopbackHost(cfg.broker.host)) {
        log.warn(
          { host: cfg.broker.host },
          'MQTT authentication is OFF on a broker reachable from the network: any client can read and forge messages',
        )
      }
      const credentials = brokerCredentials
      broker = await startBroker({
        host: cfg.broker.host,
        port: cfg.broker.port,
        sessionExpiryMs: cfg.broker.sessionExpirySec * 1000,
        logger,
        localId: cfg.controller.localId || undefined,
        ...(credentials ? { auth: { credentials, localId: cfg.controller.localId || undefined } } : {}),
      })
      const b = broker
      opened.push(() => b.close())
      const auth = broker.auth
      if (auth) {
        coreOptions.registrationGuard = (name, clientId, verb) =>
          auth.registrationRefusal(name, clientId, verb)
        coreOptions.componentGuard = (name, clientId) => auth.actsFor(name, clientId)
        coreOptions.replyTunnelGuard = (tunnel, clientId) => auth.mayReplyTo(tunnel, clientId)
      }
      metrics?.bindBroker(broker.aedes)
      controller = await startController({ embedded: broker.aedes }, coreOptions)
      const core = controller.core
      auth?.bindController(core)
      brokerUrl = broker.url
    }
    const ctl = controller
    opened.push(() => ctl.close())
    metrics?.bindController(ctl.core)
    let metricsListener: MetricsListener | undefined
    if (metrics && cfg.metrics.host) {
      const ml = await startMetricsListener(metrics, {
        host: cfg.metrics.host,
        port: cfg.metrics.port,
        logger,
        accessLog: cfg.metrics.accessLog,
      })
      metricsListener = ml
      opened.push(() => ml.close())
    }

    const files = await FileStore.open(join(resolve(cfg.data.dir), 'files'), { ...cfg.files, logger })
    opened.push(() => files.close())
    const manager = await BundleManager.open({
      config: cfg,
      core: controller.core,
      brokerUrl,
      tokens,
      brokerCredentials,
      logger,
    })
    opened.push(() => manager.close()) // before the broker and the controller close: bundles stop in reverse order
    let closing = false
    let starting = true
    const http = buildGateway({
      core: controller.core,
      tokens,
      logger,
      debug: cfg.http.debug,
      events: cfg.events,
      ...(metrics ? { metrics } : {}),
      observability: { accessLog: cfg.metrics.accessLog, serveMetrics: !cfg.metrics.host },
      jsonDepth: cfg.limits.jsonDepth,
      files: {
        store: files,
        tickets: new UploadTickets({ ttlMs: cfg.files.ticketSec * 1000 }),
        limits: cfg.files,
      },
      console: {
        auth: consoleUsers,
        serve: cfg.http.console,
        info: {
          rootTokenFile: tokenFile ?? null,
          sessionIdleSec: cfg.http.sessionIdleSec,
          sessionMaxSec: cfg.http.sessionMaxSec,
        },
      },
      hosts: { listenHost: cfg.http.host, allowedHosts: cfg.http.allowedHosts },
      bounds: {
        headersTimeoutMs: cfg.http.headersTimeoutMs,
        requestTimeoutMs: cfg.http.requestTimeoutMs,
        keepAliveTimeoutMs: cfg.http.keepAliveTimeoutMs,
        maxConnections: cfg.http.maxConnections,
      },
      rateLimit: {
        perSecond: cfg.http.rateLimitPerSec,
        burst: cfg.http.rateLimitBurst,
        anonPerSecond: cfg.http.rateLimitAnonPerSec,
        anonBurst: cfg.http.rateLimitAnonBurst,
      },
      manager,
      managerUploadMaxBytes: cfg.manager.uploadMaxBytes,
      ready: () => {
        if (closing) return 'the gateway is stopping'
        if (starting) return 'the gateway is starting'
        if (!ctl.connected) return 'the controller is not connected to the broker'
        return undefined
      },
    })
    opened.push(() => http.close())
    try {
      await http.listen({ host: cfg.http.host, port: cfg.http.port })
    } catch (err) {
      throw createError('GW_ERR_HTTP_LISTEN', [cfg.http.host, cfg.http.port, listenReason(err)], {
        cause: err,
      })
    }
    // Every listener is bound: only now the first-start side effects that print or write a one-time secret, so
    // that a start that fails (a busy port) consumes none of them and the retry shows them (issue 12).
    if (tokens && tokenFile) await ensureRootToken(tokens, tokenFile, { logger })
    await consoleUsers?.ensureInitialAdmin()
    starting = false
    const address = http.server.address()
    const port = typeof address === 'object' && address ? address.port : cfg.http.port
    const host = cfg.http.host.includes(':') ? `[${cfg.http.host}]` : cfg.http.host
    const httpUrl = `http://${host}:${port}`
    log.info(
      { url: `${httpUrl}/api/v1`, console: cfg.http.console ? `${httpUrl}/` : undefined, tokenFile },
      'web service listening',
    )
    manager.setHttpUrl(httpUrl)
    void manager.startAll().catch((err) => log.error({ err }, 'starting the managed bundles failed'))

    let closed: Promise<void> | undefined
    return {
      config: cfg,
      brokerUrl,
      broker,
      controller,
      http,
      httpUrl,
      tokens,
      tokenFile,
      consoleUsers,
      brokerCredentials,
      files,
      manager,
      logger,
      metrics,
      metricsUrl: metricsListener?.url,
      close() {
        closing = true
        closed ??= unwind()
        return closed
      },
    }
  } catch (err) {
    await unwind()
    throw err
  }
}

/** "address already in use" rather than Node's "listen EADDRINUSE: address already in use 127.0.0.1:8080". */
function listenReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const text = e.message ?? String(err)
  return e.code ? `${text.replace(/^listen \w+: /, '').replace(/ \S+:\d+$/, '')} (${e.code})` : text
}
