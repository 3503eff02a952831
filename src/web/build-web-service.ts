import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify'
import { DEFAULTS } from '../config/index.ts'
import type { ControllerCore } from '../controller/index.ts'
import { type Logger, redactQueryToken } from '../logger.ts'
import type { BundleManagerApi } from '../manager/index.ts'
import type { GatewayMetrics } from '../metrics/index.ts'
import { absoluteFormPath } from './absolute-form.ts'
import { apiTarget } from './api-path.ts'
import { authenticate, type Scope, scopeAllows, type TokenVerifier } from './auth.ts'
import { clientErrorHandler } from './client-error.ts'
import { installClosingGuard } from './closing-guard.ts'
import { installErrorHandlers } from './error-handler.ts'
import type { EventsOptions } from './events/events-options.ts'
import { pushChannel } from './events/push-channel.ts'
import { withTokenEvents } from './events/token-events.ts'
import { type HostOptions, installHostCheck } from './host-check.ts'
import {
  applyBounds,
  boundsServerOptions,
  defaultBounds,
  type HttpBounds,
  MAX_HEADER_BYTES,
} from './http-bounds.ts'
import { sendError } from './http-error.ts'
import { BODY_LIMIT_BYTES, installJsonBody } from './json-body.ts'
import { installManagerWeb } from './manager-web.ts'
import { installObservability } from './observe-requests.ts'
import { openApiRoute } from './openapi/openapi-route.ts'
import { recordRoutes } from './openapi/route-recorder.ts'
import { RateLimiter, type RateLimitOptions } from './rate-limit/rate-limiter.ts'
import { requestIdGenerator } from './request-id.ts'
import { CONTROLLER_PREFIX, isUnder } from './reserved.ts'
import { authRoutes, type ConsoleAuth } from './routes/auth.ts'
import { bundleRoutes } from './routes/bundles.ts'
import { consoleRoutes } from './routes/console.ts'
import { type ConsoleInfo, consoleInfoRoutes } from './routes/console-info.ts'
import { type FileRouteDeps, fileRoutes } from './routes/files.ts'
import { healthRoutes } from './routes/health.ts'
import { RESOURCE_METHODS, resourceRoutes } from './routes/resources.ts'
import { type TokenAdmin, tokenRoutes } from './routes/tokens.ts'
import { installSecurityHeaders } from './security-headers.ts'

/** What the web service is built from (not `GatewayDeps` of server.ts, the extra wiring of `startGateway`). */
export interface WebServiceDeps {
  core: ControllerCore
  /** The token store; undefined turns authentication off (development only). */
  tokens: (TokenVerifier & TokenAdmin) | undefined
  logger: Logger
  /** Keep stack traces in error bodies. */
  debug?: boolean
  /** Undefined when ready, else why not. */
  ready: () => string | undefined
  /** The bundle manager (docs/manager.md): its routes, and 503 for managed bundles that are not serving. */
  manager?: BundleManagerApi
  /** Per-token and per-address request limits ([HA-12]); undefined: none. */
  rateLimit?: RateLimitOptions
  /** Limits of the push channel (`/api/v1/events`, `/api/v1/ws`). @default the `events` defaults of the config */
  events?: EventsOptions
  /** The web console: its logins (undefined when authentication is off), facts it shows, whether `/` serves it. */
  console?: { auth: ConsoleAuth | undefined; info: ConsoleInfo; serve: boolean }
  /** The gateway's metrics (docs/observability.md); undefined: off. */
  metrics?: GatewayMetrics
  /** `metrics.accessLog` and whether `/metrics` is served here (not on a separate listener). */
  observability?: { accessLog: boolean; serveMetrics: boolean }
  /** How deep request bodies and WebSocket messages may nest (`limits.jsonDepth`, §8.9). @default 64 */
  jsonDepth?: number
  /** The names the web service answers to (the DNS-rebinding defence). @default listening on 127.0.0.1 */
  hosts?: HostOptions
  /** Timeouts and the connection cap. @default the `http` defaults of the config */
  bounds?: HttpBounds
  /** The fleet (src/fleet): `GET /api/v1/gateways` and its push events; undefined: no uplink. */
  fleet?: { install(app: FastifyInstance, hub: ReturnType<typeof pushChannel>): void }
  /** The file service and the §7 file helpers (issue 16); undefined: not served. */
  files?: Omit<FileRouteDeps, 'helpers'>
  /** `manager.uploadMaxBytes`: the largest bundle tarball `POST /api/v1/bundles` takes. @default the config's */
  managerUploadMaxBytes?: number
}

/** Per-route access policy: none, bundle resource (scope by method), any valid token, admin only. */
type AuthPolicy = 'none' | 'resource' | 'read' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthPolicy
    /** The route also takes the token as `?mx-api-token=` (the push channel only, [HA-3] item 4). */
    queryToken?: boolean
  }
}

/**
 * Builds the web service (never listens; the caller does). Authentication runs in `onRequest`, before the body is
 * read: a rejected request costs no parsing and never reaches a bundle [HA-4][HA-5].
 */
export function buildWebService(deps: WebServiceDeps): FastifyInstance {
  const log = deps.logger.child({ component: 'http' })
  const bounds = deps.bounds ?? defaultBounds()
  const app = createApp(log, bounds)
  // every route from here on, for the OpenAPI document (which lists only what is served)
  const routes = recordRoutes(app)
  const debug = deps.debug ?? false
  installJsonBody(app, deps.jsonDepth)
  installErrorHandlers(app, log, debug)
  app.decorateRequest('principal', undefined)
  // first of the onRequest hooks: a request for a name that is not ours reads no credential
  installHostCheck(app, deps.hosts ?? { listenHost: DEFAULTS.http.host, allowedHosts: '' })
  installClosingGuard(app)
  const limiter = deps.rateLimit && deps.tokens ? new RateLimiter(deps.rateLimit) : undefined
  installObservability(app, {
    metrics: deps.metrics,
    serveMetrics: deps.observability?.serveMetrics ?? true,
    accessLog: deps.observability?.accessLog ?? false,
    logger: log,
  })
  installAccessCheck(app, deps, limiter)
  installSecurityHeaders(app)
  addRoutes(app, deps, { routes, limiter, debug })
  return app
}

/** The fastify instance with the bounds, our error bodies for parser and router errors, and no request logging. */
function createApp(log: Logger, bounds: HttpBounds): FastifyInstance {
  const app = Fastify({
    ...boundsServerOptions(bounds),
    // parser errors (400, 431, 408, 413) get the documented body too
    clientErrorHandler: clientErrorHandler(log, MAX_HEADER_BYTES),
    // absolute-form targets (RFC 9112 §3.2.2): the path only, the authority for the Host check
    rewriteUrl: absoluteFormPath,
    loggerInstance: log as unknown as FastifyBaseLogger,
    // no per-request log lines: errors are logged by the error handler
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // the closing guard answers 503 with our body instead
    return503OnClosing: false,
    routerOptions: { maxParamLength: 1024 },
    // docs/observability.md: a valid incoming x-request-id or traceparent, else a fresh id; in every request log line
    genReqId: requestIdGenerator(),
    // URLs the router cannot decode ('%zz') get our error body too, not fastify's own
    frameworkErrors: (err, _request, reply) => {
      void sendError(reply as unknown as FastifyReply, 'GW_ERR_BAD_REQUEST', [err.message])
    },
  })
  applyBounds(app.server, bounds)
  return app
}

/**
 * The `onRequest` access check, per the route's policy: the address limit, the credential (401), the token's rate
 * limit (429), the scope (403) [HA-4][HA-12].
 */
function installAccessCheck(
  app: FastifyInstance,
  deps: WebServiceDeps,
  limiter: RateLimiter | undefined,
): void {
  const metrics = deps.metrics
  app.addHook('onRequest', async (request, reply) => {
    const queryToken = request.routeOptions.config.queryToken === true
    // the query (token included) is parsed already; the URL, which error logs show, loses the token [HA-3]
    if (queryToken && request.raw.url) request.raw.url = redactQueryToken(request.raw.url)
    const policy: AuthPolicy = request.routeOptions.config.auth ?? 'none'
    if (policy === 'none') return
    const tokens = deps.tokens
    if (!tokens) return // authentication off
    // [HA-12] an address out of failed attempts is refused before its credential is looked at
    if (limiter?.refuseAddress(request, reply, queryToken)) {
      metrics?.rateLimited('address')
      return reply
    }
    const principal = authenticate(request, reply, tokens, queryToken, deps.console?.auth?.sessions)
    metrics?.tokenCheck(principal !== undefined)
    if (!principal) {
      limiter?.failed(request, queryToken)
      return reply
    }
    request.principal = principal
    if (limiter && !limiter.admit(principal, reply)) {
      metrics?.rateLimited('token')
      return reply
    }
    const denied = scopeDenial(request, policy, principal.scope)
    if (denied !== undefined)
      return sendError(reply, 'GW_ERR_SCOPE', [principal.scope, denied, request.url.split('?')[0]])
  })
}

/** What a scope may not do on this route ('manage', 'use', a method), or undefined when it may. */
function scopeDenial(request: FastifyRequest, policy: AuthPolicy, scope: Scope): string | undefined {
  if (policy === 'admin' && scope !== 'admin') return 'manage'
  // The controller's own resources (registration, dependency) are not bundle resources: admin only.
  if (policy === 'resource' && scope !== 'admin' && isUnder(apiTarget(request).path, CONTROLLER_PREFIX))
    return 'use'
  if (policy === 'resource' && RESOURCE_METHODS.has(request.method) && !scopeAllows(scope, request.method))
    return request.method
  return undefined
}

/** Every route: health, console, push channel, tokens, bundles, files, OpenAPI; the bundle resources last. */
function addRoutes(
  app: FastifyInstance,
  deps: WebServiceDeps,
  built: { routes: ReturnType<typeof recordRoutes>; limiter: RateLimiter | undefined; debug: boolean },
): void {
  const { limiter, debug } = built
  healthRoutes(app, deps.ready)
  if (deps.console) {
    authRoutes(app, deps.console.auth, deps.logger)
    consoleInfoRoutes(app, deps.console.info)
    if (deps.console.serve) consoleRoutes(app)
  }
  const events = pushChannel(app, {
    core: deps.core,
    tokens: deps.tokens,
    sessions: deps.console?.auth?.sessions,
    options: deps.events ?? DEFAULTS.events,
    log: deps.logger,
    jsonDepth: deps.jsonDepth,
  })
  if (deps.tokens)
    tokenRoutes(app, withTokenEvents(deps.tokens, events), (scope) => limiter?.limitOf(scope) ?? null)
  if (deps.manager) {
    const uploadMaxBytes = deps.managerUploadMaxBytes ?? DEFAULTS.manager.uploadMaxBytes
    installManagerWeb(app, { manager: deps.manager, core: deps.core, uploadMaxBytes }, events, deps.logger)
  } else bundleRoutes(app, deps.core)
  deps.fleet?.install(app, events)
  if (deps.files) fileRoutes(app, { ...deps.files, helpers: { core: deps.core, debug } })
  openApiRoute(app, deps.core, built.routes, {
    rateLimited: limiter !== undefined,
    auth: deps.tokens !== undefined,
  })
  if (deps.metrics)
    deps.metrics.bindPush({
      get clients() {
        return events.clients
      },
      get dropped() {
        return events.dropped
      },
    })
  resourceRoutes(app, deps.core, debug, deps.metrics)
}
