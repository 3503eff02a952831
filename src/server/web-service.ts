/**
 * The gateway's web service: built from the configuration and the parts started before it, listening on
 * `http.host:http.port`, with its readiness (`/ready`) following the gateway's start and stop.
 * @module
 */
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/index.ts'
import type { Controller } from '../controller/index.ts'
import { createError } from '../errors.ts'
import { type FileStore, UploadTickets } from '../files/index.ts'
import type { Fleet } from '../fleet/index.ts'
import type { Logger } from '../logger.ts'
import type { BundleManager } from '../manager/index.ts'
import type { GatewayMetrics } from '../metrics/index.ts'
import { buildWebService } from '../web/index.ts'
import type { Closers } from './closers.ts'
import type { AuthStores } from './stores.ts'

/** Where a gateway is in its life: `/ready` answers 503 while it starts and once it stops. */
export interface Phase {
  starting: boolean
  closing: boolean
}

/** What the web service is built on. */
export interface WebServiceParts extends AuthStores {
  controller: Controller
  files: FileStore
  metrics: GatewayMetrics | undefined
  /** The fleet uplink (`GET /api/v1/gateways`, its push events), when `fleet.url` is set. */
  fleet: Fleet | undefined
  /** The bundle manager: its routes, and 503 for its bundles that are not serving ([HA-15]). */
  manager: BundleManager
  logger: Logger
  phase: Readonly<Phase>
}

/** Builds the web service and makes it listen; GW_ERR_HTTP_LISTEN when the address is taken or not allowed. */
export async function startWebService(
  cfg: Readonly<Config>,
  parts: WebServiceParts,
  closers: Closers,
): Promise<{ http: FastifyInstance; httpUrl: string }> {
  const http = buildWebService(webServiceOptions(cfg, parts))
  closers.add(() => http.close())
  try {
    await http.listen({ host: cfg.http.host, port: cfg.http.port })
  } catch (err) {
    throw createError('GW_ERR_HTTP_LISTEN', [cfg.http.host, cfg.http.port, listenReason(err)], {
      cause: err,
    })
  }
  const address = http.server.address()
  const port = typeof address === 'object' && address ? address.port : cfg.http.port
  const host = cfg.http.host.includes(':') ? `[${cfg.http.host}]` : cfg.http.host
  return { http, httpUrl: `http://${host}:${port}` }
}

/** The web service's options: a table of configuration values, plus the parts and the readiness check. */
function webServiceOptions(
  cfg: Readonly<Config>,
  parts: WebServiceParts,
): Parameters<typeof buildWebService>[0] {
  const { controller: ctl, metrics, phase } = parts
  return {
    core: ctl.core,
    ...(parts.fleet ? { fleet: parts.fleet } : {}),
    manager: parts.manager,
    managerUploadMaxBytes: cfg.manager.uploadMaxBytes,
    tokens: parts.tokens,
    logger: parts.logger,
    debug: cfg.http.debug,
    events: cfg.events,
    ...(metrics ? { metrics } : {}),
    observability: { accessLog: cfg.metrics.accessLog, serveMetrics: !cfg.metrics.host },
    jsonDepth: cfg.limits.jsonDepth,
    files: {
      store: parts.files,
      tickets: new UploadTickets({ ttlMs: cfg.files.ticketSec * 1000 }),
      limits: cfg.files,
    },
    console: {
      auth: parts.consoleUsers,
      serve: cfg.http.console,
      info: {
        rootTokenFile: parts.tokenFile ?? null,
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
    ready: () => {
      if (phase.closing) return 'the gateway is stopping'
      if (phase.starting) return 'the gateway is starting'
      if (!ctl.connected) return 'the controller is not connected to the broker'
      return undefined
    },
  }
}

/** "address already in use" rather than Node's "listen EADDRINUSE: address already in use 127.0.0.1:8080". */
function listenReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException
  const text = e.message ?? String(err)
  return e.code ? `${text.replace(/^listen \w+: /, '').replace(/ \S+:\d+$/, '')} (${e.code})` : text
}
