import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from 'fastify'
import type { ControllerCore } from '../controller/index.ts'
import type { Logger } from '../logger.ts'
import { authenticate, scopeAllows, type TokenVerifier } from './auth.ts'
import { installErrorHandlers } from './error-handler.ts'
import { errorReply } from './http-error.ts'
import { BODY_LIMIT_BYTES, installJsonBody } from './json-body.ts'
import { API_PREFIX } from './map-resource.ts'
import { CONTROLLER_PREFIX, isUnder } from './reserved.ts'
import { bundleRoutes } from './routes/bundles.ts'
import { healthRoutes } from './routes/health.ts'
import { RESOURCE_METHODS, resourceRoutes } from './routes/resources.ts'
import { type TokenAdmin, tokenRoutes } from './routes/tokens.ts'

/** What the web service is built from. */
export interface GatewayDeps {
  core: ControllerCore
  /** The token store; undefined turns authentication off (development only). */
  tokens: (TokenVerifier & TokenAdmin) | undefined
  logger: Logger
  /** Keep stack traces in error bodies. */
  debug?: boolean
  /** Undefined when ready, else why not. */
  ready: () => string | undefined
}

/** Per-route access policy: none, bundle resource (scope by method), any valid token, admin only. */
type AuthPolicy = 'none' | 'resource' | 'read' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthPolicy
  }
}

/**
 * Builds the web service (never listens; the caller does). Authentication runs in `onRequest`, before the body is
 * read: a rejected request costs no parsing and never reaches a bundle [HA-4][HA-5].
 */
export function buildGateway(deps: GatewayDeps): FastifyInstance {
  const log = deps.logger.child({ component: 'http' })
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    // no per-request log lines: errors are logged by the error handler
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 1024 },
    // URLs the router cannot decode ('%zz') get our error body too, not fastify's own
    frameworkErrors: (err, _request, reply) => {
      const r = errorReply('GW_ERR_BAD_REQUEST', [err.message])
      void (reply as unknown as FastifyReply).code(r.status).send(r.body)
    },
  })
  const debug = deps.debug ?? false
  installJsonBody(app)
  installErrorHandlers(app, log, debug)
  app.decorateRequest('principal', undefined)
  app.addHook('onRequest', async (request, reply) => {
    const policy: AuthPolicy = request.routeOptions.config.auth ?? 'none'
    if (policy === 'none') return
    const tokens = deps.tokens
    if (!tokens) return // authentication off
    const principal = authenticate(request, reply, tokens)
    if (!principal) return reply
    request.principal = principal
    const deny = (what: string) => {
      const r = errorReply('GW_ERR_SCOPE', [principal.scope, what, request.url.split('?')[0]])
      return reply.code(r.status).send(r.body)
    }
    if (policy === 'admin' && principal.scope !== 'admin') return deny('manage')
    // The controller's own resources (registration, dependency) are not bundle resources: admin only.
    if (policy === 'resource' && principal.scope !== 'admin') {
      const path = request.url.slice(API_PREFIX.length).split('?')[0] ?? ''
      if (isUnder(path, CONTROLLER_PREFIX)) return deny('use')
    }
    if (
      policy === 'resource' &&
      RESOURCE_METHODS.has(request.method) &&
      !scopeAllows(principal.scope, request.method)
    ) {
      return deny(request.method)
    }
  })
  healthRoutes(app, deps.ready)
  if (deps.tokens) tokenRoutes(app, deps.tokens)
  bundleRoutes(app, deps.core)
  resourceRoutes(app, deps.core, debug)
  return app
}
