import { rm } from 'node:fs/promises'
import type { Logger } from '../logger.ts'
import type { Envelope, Json } from '../protocol/index.ts'
import type { Bundle } from '../sdk/bundle.ts'
import type { Gateway } from '../server.ts'
import { injectRequest } from './inject-request.ts'
import { launchGateway } from './launch-gateway.ts'
import type { LogLine } from './log-capture.ts'
import { startBundleOn } from './start-bundle.ts'

/** Options of {@link startTestGateway}. */
export interface TestGatewayOptions {
  /** Controller mode. @default 'default' */
  mode?: 'default' | 'sanji-compat'
  /** Offline detection: requests for a stopped bundle answer 503 at once. @default true */
  liveness?: boolean
  /** Token checks on `/api/v1`. @default true */
  auth?: boolean
  /** Keep `traceback` and `stack` in error answers of the web service. @default false */
  debug?: boolean
  /**
   * Serve the web console and its logins. Off by default: bundle tests do not need it, and creating the console's
   * admin costs a scrypt hash (~0.1 s) per test gateway. @default false
   */
  console?: boolean
  /** Print the gateway's and the bundles' logs at this pino level (`debug` shows registrations). */
  logLevel?: string
  /** Where the gateway and the bundles log. @default nothing is printed; warnings and errors are kept in `logs` */
  logger?: Logger
}

/** Options of {@link TestGateway.startBundle}. */
export interface StartBundleOptions {
  /** The bundle's logger. @default the one given to its constructor, else the test gateway's */
  logger?: Logger
  /**
   * Run the bundle in a temp copy of its directory (`bundle.json` and `data/*.factory` only, removed by close()):
   * each test starts from the factory data and the bundle's own `data/` files are never written. `bundle.dir`
   * points at the copy. Pass `false` to run it in place.
   * @default true
   */
  isolate?: boolean
  /** How long to wait for the registration. @default 5000 */
  timeoutMs?: number
}

/** Options of {@link TestGateway.request}. */
export interface HttpRequestOptions {
  /** The API token (`mx-api-token` header); `null` sends none. @default the root token */
  token?: string | null
  /** Extra request headers. */
  headers?: Record<string, string>
}

/** An HTTP answer of the web service. */
export interface HttpAnswer<T = Json> {
  status: number
  /** The parsed JSON body; `null` when the answer has none (204). */
  body: T
  headers: Record<string, string | string[] | number | undefined>
}

/** The wire answer of a request: `{ id, code, method, resource, data, sign, … }`. */
export type WireAnswer = Envelope & { code: number }

/** A gateway for tests: see {@link startTestGateway}. */
export interface TestGateway {
  /** The gateway itself (controller, token store, fastify instance, …). */
  readonly gateway: Gateway
  /** The embedded broker, on a free loopback port: `mqtt://127.0.0.1:<port>`. */
  readonly brokerUrl: string
  /** The web service, on a free loopback port: `http://127.0.0.1:<port>` (add `/api/v1`). */
  readonly httpUrl: string
  /** The root (admin) token; `''` when `auth` is false. */
  readonly token: string
  /** The gateway's temp data directory (token database, token file). */
  readonly dataDir: string
  /** Warnings and errors of the gateway and of the bundles that log to the default logger (nothing is printed). */
  readonly logs: readonly LogLine[]
  /**
   * A request through the real web service (routing, auth, scopes, HTTP mapping), in-process (no socket).
   * `resource` is the bundle resource (`/hello` is sent to `/api/v1/hello`), or a full path starting with
   * `/api/`, `/health` or `/ready`. `data` is sent as the JSON body.
   */
  request<T = Json>(
    method: string,
    resource: string,
    data?: Json,
    options?: HttpRequestOptions,
  ): Promise<HttpAnswer<T>>
  /**
   * A request straight to the controller, as a bundle or the CLI's `request` sends it on `/controller` (the same
   * routing; no web service, no token); resolves with the answer as it travels on the wire.
   */
  mqttRequest(method: string, resource: string, data?: Json): Promise<WireAnswer>
  /** Creates an API token (`POST /api/v1/tokens` with the root token) and returns its secret. */
  createToken(scope: 'read' | 'readwrite', description?: string): Promise<string>
  /**
   * Starts a bundle (a `Bundle` subclass instance or `createBundle()`) against this gateway: its broker URL,
   * no signal handlers, the test logger unless it has its own, a temp copy of its directory (see
   * {@link StartBundleOptions.isolate}). Resolves with the bundle once it is registered; close() stops it.
   */
  startBundle<B extends Bundle>(bundle: B, options?: StartBundleOptions): Promise<B>
  /** Stops the bundles, then the gateway, and removes the temp directories. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts a gateway for tests: embedded broker and web service on free loopback ports, a temp data directory with
 * the root token file, logs silent. Start bundles on it, send requests, close it:
 *
 * @example
 * const gw = await startTestGateway()
 * await gw.startBundle(new HelloBundle({ dir: import.meta.dirname }))
 * const { status, body } = await gw.request('GET', '/hello')
 * await gw.close()
 */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const { root, dataDir, gateway, token, logger, lines } = await launchGateway(options)
  const bundles: Bundle[] = []
  let bundleDirs = 0
  let closed: Promise<void> | undefined
  const request = <T = Json>(
    method: string,
    resource: string,
    data?: Json,
    requestOptions?: HttpRequestOptions,
  ) => injectRequest<T>(gateway, token, method, resource, data, requestOptions)
  const target = {
    brokerUrl: gateway.brokerUrl,
    root,
    logger,
    lines,
    bundles,
    nextDir: () => `bundle-${++bundleDirs}`,
  }

  const kit: TestGateway = {
    gateway,
    brokerUrl: gateway.brokerUrl,
    httpUrl: gateway.httpUrl,
    token,
    dataDir,
    logs: lines,
    request,

    async mqttRequest(method, resource, data) {
      const outcome = await gateway.controller.core.request({
        method: method.toLowerCase(),
        resource,
        ...(data === undefined ? {} : { data }),
      })
      return outcome.message as WireAnswer
    },

    async createToken(scope, description = `test ${scope} token`) {
      const res = await request<{ token?: string; message?: string }>('POST', '/api/v1/tokens', {
        scope,
        description,
      })
      if (res.status !== 201 || typeof res.body.token !== 'string') {
        throw new Error(`creating a ${scope} token failed: ${res.status} ${JSON.stringify(res.body)}`)
      }
      return res.body.token
    },

    async startBundle<B extends Bundle>(bundle: B, bundleOptions: StartBundleOptions = {}): Promise<B> {
      if (closed !== undefined) throw new Error('startBundle() after close()')
      return startBundleOn(target, bundle, bundleOptions)
    },

    close() {
      closed ??= (async () => {
        await Promise.all(bundles.splice(0).map((b) => b.stop().catch(() => undefined)))
        await gateway.close()
        await rm(root, { recursive: true, force: true })
      })()
      return closed
    },
  }
  return kit
}
