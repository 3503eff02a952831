import { randomBytes } from 'node:crypto'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { DropLog } from '../drop-log.ts'
import { createError, GatewayError } from '../errors.ts'
import { createLogger, type Logger } from '../logger.ts'
import {
  bundleResponse,
  classifySdk,
  clientPresenceTopic,
  type Envelope,
  isObject,
  type Json,
  MAX_JSON_DEPTH,
  type ParseOptions,
  PRESENCE_TOPIC,
  parsePayload,
  requestIdOf,
  tooDeepAnswer,
} from '../protocol/index.ts'
import { BundleError } from './bundle-error.ts'
import { ConfigStore, type ConfigStoreOptions } from './config-store.ts'
import {
  brokerCredentialsFromEnv,
  brokerTlsFromEnv,
  brokerUrlFromEnv,
  debugFromEnv,
  jsonDepthFromEnv,
  publishQosFromEnv,
} from './env.ts'
import { BundleFiles, fileFields, withUploadTarget } from './files.ts'
import { encodeResponse, TOO_DEEP_DROP, tooDeepRequest } from './intake-guard.ts'
import { loadManifest, type Manifest, validateManifest } from './manifest.ts'
import type {
  Answer,
  EventHandler,
  EventMessage,
  RequestHandler,
  RequestMessage,
  Respond,
} from './message.ts'
import { watchParent } from './parent-watch.ts'
import { deriveAllProfiles } from './profiles.ts'
import { PublishWindow } from './publish-window.ts'
import { type Publish, Publisher } from './publisher.ts'
import { Registrar } from './registrar.ts'
import { withRequestId } from './request-context.ts'
import { type Declared, kDeclared } from './route.ts'
import { type EventSpec, queryOf, type RouteMatch, Router, type RouteSpec } from './router.ts'

/** Options of a bundle. */
export interface BundleOptions {
  /** The bundle directory: `bundle.json` and `data/` live here. `BUNDLE_DIR` overrides it. @default process.cwd() */
  dir?: string
  /** The manifest as an object, instead of reading `<dir>/bundle.json`. */
  manifest?: unknown
  /** @default BROKER_URL, else BROKER_PORT_1883_TCP_ADDR/PORT, else 'mqtt://127.0.0.1:1883' */
  brokerUrl?: string
  /** Extra mqtt.js options: username, password (default BROKER_USERNAME/BROKER_PASSWORD), TLS (ca, cert, key, …). */
  mqtt?: IClientOptions
  /** @default a pino logger at LOG_LEVEL (info) */
  logger?: Logger
  /** Put stack traces in 500 answers. @default BUNDLE_DEBUG=1 or SANJI_ENV=debug */
  debug?: boolean
  /** Stop cleanly on SIGINT and SIGTERM. @default true */
  signals?: boolean
  /** MQTT client id. @default 'bg-' + 16 random hex characters */
  clientId?: string
  /**
   * QoS of everything the bundle publishes (answers, requests, events). 2 is what the wire protocol prescribes
   * (§2.2); 1 costs two MQTT packets per message instead of four (see docs/performance.md); duplicates are harmless
   * since answers are matched by id once. @default BUNDLE_PUBLISH_QOS, else 2
   */
  publishQos?: 0 | 1 | 2
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped'

/** Internal (`bundlegate/testing`): the method that points a bundle that has not started at a test gateway. */
export const kRetarget: unique symbol = Symbol('bundlegate.retarget')

/**
 * A bundle: a small program that registers resources with the controller and answers requests for them.
 *
 * @example
 * class Example extends Bundle {
 *   model!: ConfigStore<{ key: string }>
 *   override async init() { this.model = await this.openStore() }
 *   @route({ resource: '/example', methods: 'get' })
 *   get() { return this.model.data }
 * }
 * await new Example({ dir: import.meta.dirname }).start()
 */
export class Bundle {
  readonly dir: string
  log: Logger
  readonly clientId: string
  /** The gateway's file service: `this.files.put(path | stream, { name, type })` → download URL (docs/sdk.md). */
  readonly files = new BundleFiles()
  #options: BundleOptions
  readonly #router = new Router()
  readonly #replyTunnel = randomBytes(16).toString('hex')
  readonly #tunnels = new Map<'model' | 'view', string>()
  readonly #stores: ConfigStore<Json>[] = []
  readonly #debug: boolean
  readonly #publisher: Publisher
  #manifest: Manifest | undefined
  #client: MqttClient | undefined
  #window: PublishWindow | undefined
  #registrar: Registrar | undefined
  #state: State = 'new'
  #registered = false
  #onRegistered: (() => void) | undefined
  #signalHandler: (() => void) | undefined
  #initialized: Promise<void> = Promise.resolve()
  readonly #parse: ParseOptions = { maxDepth: jsonDepthFromEnv() ?? MAX_JSON_DEPTH }
  #dropLog: DropLog | undefined

  constructor(options: BundleOptions = {}) {
    this.#options = options
    this.dir = process.env.BUNDLE_DIR || options.dir || process.cwd()
    this.log = options.logger ?? createLogger()
    this.clientId = options.clientId ?? `bg-${randomBytes(8).toString('hex')}`
    this.#debug = options.debug ?? debugFromEnv()
    this.#publisher = new Publisher({
      replyTunnel: this.#replyTunnel,
      send: (payload) => this.#send(payload),
    })
  }

  // ------------------------------------------------------------ lifecycle hooks for subclasses

  /** Runs before connecting: open config stores, check devices. */
  init(): unknown {
    return undefined
  }

  /** Runs once, after the first successful registration. Not awaited: it may loop. */
  run(): unknown {
    return undefined
  }

  /** Runs when the bundle stops, before it disconnects. */
  beforeStop(): unknown {
    return undefined
  }

  /**
   * @internal For `bundlegate/testing`, before start(): `overrides` replace the constructor's options (`dir` too);
   * `fallbackLogger` is used unless the constructor or `overrides` gave a logger.
   */
  [kRetarget](overrides: BundleOptions, fallbackLogger?: Logger): void {
    if (this.#state !== 'new') throw new Error(`the bundle was already started (state ${this.#state})`)
    const given = overrides.logger ?? this.#options.logger
    this.#options = { ...this.#options, ...overrides }
    if (overrides.dir !== undefined) (this as { dir: string }).dir = overrides.dir
    const logger = given ?? fallbackLogger
    if (logger) this.log = logger
  }

  // ------------------------------------------------------------ public API

  /** The manifest name. */
  get name(): string {
    return this.manifest.name
  }

  /** The validated bundle.json (available from `init()` on). */
  get manifest(): Manifest {
    if (!this.#manifest) throw new Error('the manifest is loaded by start(); use it from init() on')
    return this.#manifest
  }

  /** Requests to other bundles and events: `this.publish.get('/x')`, `this.publish.event.put('/x', data)`. */
  get publish(): Publish {
    return this.#publisher.publish
  }

  /** True once every profile is registered with the controller. */
  get registered(): boolean {
    return this.#registered
  }

  /** The component tunnels (role → tunnel) of the current registration. */
  get tunnels(): ReadonlyMap<'model' | 'view', string> {
    return this.#tunnels
  }

  /** Adds a route: `bundle.route({ resource: '/x/:id', methods: ['get', 'put'] }, handler)`. */
  route(spec: RouteSpec, handler: RequestHandler): this {
    this.#router.addRoute(spec, handler)
    return this
  }

  /** Adds an event handler for resources this bundle views. */
  onEvent(spec: EventSpec, handler: EventHandler): this {
    this.#router.addEvent(spec, handler)
    return this
  }

  /**
   * Opens a persisted config store `data/<name>.json` (factory copy on first start, backup recovery, atomic saves);
   * it is closed when the bundle stops.
   */
  async openStore<T extends Json = Json>(
    name?: string,
    options: ConfigStoreOptions<T> = {},
  ): Promise<ConfigStore<T>> {
    const store = await ConfigStore.open<T>(name ?? this.name, this.dir, { logger: this.log, ...options })
    this.#stores.push(store as unknown as ConfigStore<Json>)
    return store
  }

  /** Loads the manifest, runs init(), connects, registers, then calls run(). Resolves once registered. */
  async start(): Promise<this> {
    if (this.#state !== 'new') throw new Error(`start() called twice (state ${this.#state})`)
    this.#state = 'starting'
    this.#manifest =
      this.#options.manifest === undefined
        ? await loadManifest(this.dir)
        : validateManifest(this.#options.manifest, 'manifest option')
    this.log = this.log.child({ bundle: this.#manifest.name })
    this.log.debug({ dir: this.dir }, 'config loaded')
    for (const d of (this as unknown as { [kDeclared]?: Declared[] })[kDeclared] ?? []) {
      if (d.kind === 'route') this.#router.addRoute(d.spec, d.handler)
      else this.#router.addEvent(d.spec, d.handler)
    }
    if (this.#options.signals ?? true) {
      this.#installSignals()
      watchParent(this.log) // the gateway that spawned this process is gone: stop, as on SIGTERM
    }
    const registered = new Promise<void>((resolve) => {
      this.#onRegistered = resolve
    })
    this.#registrar = new Registrar(
      {
        publisher: this.#publisher,
        log: this.log,
        replyTunnel: this.#replyTunnel,
        clientId: this.clientId,
        swapTunnel: (role, tunnel) => this.#swapTunnel(role, tunnel),
      },
      deriveAllProfiles(this.#manifest, this.#router.specs().routes),
    )
    // The connection is made while init() runs (it takes a few tens of ms); registration waits for init().
    let initialized!: () => void
    this.#initialized = new Promise<void>((resolve) => {
      initialized = resolve
    })
    this.#connect()
    this.log.debug('custom init start')
    try {
      await this.init()
    } catch (err) {
      this.#registrar.stop()
      this.#client?.end(true) // it may still be connecting: force it closed, no reconnects
      this.#state = 'stopped'
      throw err
    }
    this.log.debug('custom init finish')
    initialized()
    await registered
    return this
  }

  /** Runs beforeStop(), says goodbye on the presence topic, disconnects and closes config stores. */
  async stop(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped' || this.#state === 'new') return
    this.#state = 'stopping'
    this.#registrar?.stop()
    try {
      await this.beforeStop()
    } catch (err) {
      this.log.error({ err }, 'beforeStop failed')
    }
    const client = this.#client
    if (client?.connected) {
      // §8.3: a clean disconnect suppresses the will, so say it ourselves.
      const bye = JSON.stringify({ clientId: this.clientId, state: 'offline' })
      await within(client.publishAsync(clientPresenceTopic(this.clientId), bye, { qos: 1 }), 1000)
    }
    if (client) await endWithin(client, 2000)
    this.#publisher.rejectAll(createError('GW_ERR_BUNDLE_STOPPED', [this.#manifest?.name ?? this.clientId]))
    for (const s of this.#stores.splice(0)) await s.close()
    this.#state = 'stopped'
    if (this.#signalHandler) {
      process.removeListener('SIGINT', this.#signalHandler)
      process.removeListener('SIGTERM', this.#signalHandler)
    }
    this.log.debug('stopped')
  }

  // ------------------------------------------------------------ connection

  #connect(): void {
    const url = this.#options.brokerUrl ?? brokerUrlFromEnv()
    this.log.debug({ url }, 'connecting to broker')
    const will = { clientId: this.clientId, state: 'offline' }
    const client = mqtt.connect(url, {
      clientId: this.clientId,
      clean: true,
      reconnectPeriod: 500, // back within ~0.5 s of the broker (the controller uses the same period)
      connectTimeout: 5000,
      keepalive: 30,
      protocolVersion: 4,
      ...brokerCredentialsFromEnv(), // BROKER_USERNAME / BROKER_PASSWORD (docs/security.md)
      ...brokerTlsFromEnv(), // BROKER_CA_FILE / BROKER_CERT_FILE / BROKER_KEY_FILE (docs/external-broker.md)
      ...this.#options.mqtt,
      // [WP-47] the will tells the controller we are gone (external brokers).
      will: {
        topic: clientPresenceTopic(this.clientId),
        payload: Buffer.from(JSON.stringify(will)),
        qos: 1,
        retain: false,
      },
    })
    this.#client = client
    this.#window = new PublishWindow(client, this.#options.publishQos ?? publishQosFromEnv())
    client.on('connect', () => this.#onConnect(client, url))
    client.on('message', (topic, payload) => this.#onMessage(topic, payload))
    client.on('offline', () => this.log.warn({ url }, 'broker connection lost, reconnecting'))
    client.on('error', (err) => this.log.warn({ url, err: err.message }, 'broker connection error'))
  }

  #onConnect(client: MqttClient, url: string): void {
    ;(client.stream as { setNoDelay?: (v: boolean) => void } | undefined)?.setNoDelay?.(true)
    this.log.debug({ url }, 'connection established')
    // Our reply tunnel, the controller's presence (QoS 1, §8.4) and the tunnels we already hold (§4.6 step 1).
    const subs: Record<string, { qos: 0 | 1 }> = {
      [this.#replyTunnel]: { qos: 0 },
      [PRESENCE_TOPIC]: { qos: 1 },
    }
    for (const topic of Object.keys(subs)) this.log.debug({ topic }, 'subscribe')
    client.subscribe(subs, (err) => {
      if (err) this.log.error({ err }, 'subscribe failed')
    })
    // Apart: a broker with an ACL refuses tunnels the controller no longer knows (it restarted); that is expected,
    // and the registration below brings new ones.
    const held = [...new Set(this.#tunnels.values())]
    if (held.length > 0) {
      for (const topic of held) this.log.debug({ topic }, 'subscribe')
      client.subscribe(held, { qos: 0 }, (err) => {
        if (err) this.log.debug({ err: err.message, topics: held }, 'previous tunnels not granted')
      })
    }
    this.#register()
  }

  /** Runs the registration routine; the first success calls run(). */
  #register(): void {
    const registrar = this.#registrar
    if (!registrar || this.#state === 'stopping' || this.#state === 'stopped') return
    this.#initialized
      .then(() => (this.#state === 'stopping' || this.#state === 'stopped' ? false : registrar.run()))
      .then(
        (done) => {
          if (!done || this.#registered) return
          this.#registered = true
          this.#state = 'running'
          this.#onRegistered?.()
          try {
            Promise.resolve(this.run()).catch((err: unknown) => this.log.error({ err }, 'run() failed'))
          } catch (err) {
            this.log.error({ err }, 'run() failed')
          }
        },
        (err: unknown) => this.log.error({ err }, 'registration failed'),
      )
  }

  async #swapTunnel(role: 'model' | 'view', tunnel: string): Promise<void> {
    const client = this.#client
    if (!client) return
    const previous = this.#tunnels.get(role)
    this.#tunnels.set(role, tunnel)
    if (previous !== tunnel) {
      this.log.debug({ topic: tunnel }, 'subscribe')
      await client.subscribeAsync(tunnel, { qos: 0 }) // rejects when the broker refuses it (SUBACK 0x80)
    }
    this.#saySubscribed(client, tunnel)
    if (previous === tunnel) return
    if (previous !== undefined && ![...this.#tunnels.values()].includes(previous)) {
      this.log.debug({ topic: previous }, 'unsubscribe')
      await client.unsubscribeAsync(previous).catch(() => undefined)
    }
  }

  /**
   * Bundlegate only (docs/protocol.md, Choices): after the SUBACK of a component tunnel, tell the controller on our
   * own presence topic (§2.1, §8.3) that the tunnel is listened to, so that it stops holding messages for it. MQTT
   * keeps a connection's packets in order, so the subscription is in place before the controller reads this. The
   * original controller never subscribes presence topics and sees nothing.
   */
  #saySubscribed(client: MqttClient, tunnel: string): void {
    const payload = JSON.stringify({ clientId: this.clientId, state: 'subscribed', tunnel })
    client.publish(clientPresenceTopic(this.clientId), payload, { qos: 1 }, (err) => {
      if (err) this.log.debug({ err: err.message, tunnel }, 'subscribed notice not sent')
    })
  }

  #send(payload: string): Promise<void> {
    const window = this.#window
    if (!window) {
      return Promise.reject(
        createError('GW_ERR_BUNDLE_NOT_CONNECTED', [this.#manifest?.name ?? this.clientId]),
      )
    }
    return window.publish('/controller', payload)
  }

  #installSignals(): void {
    // Repeated signals while stopping are ignored: stop() is bounded in time.
    const handler = () => {
      if (this.#state === 'stopping' || this.#state === 'stopped') return
      this.log.info('signal received, stopping')
      this.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      )
    }
    this.#signalHandler = handler
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  }

  // ------------------------------------------------------------ dispatch

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parsePayload(payload, this.#parse)
    if (!parsed.ok && parsed.reason === 'too-deep') {
      // §8.9: never parsed; a request is answered 400 from its shallow head, anything else dropped and counted
      this.#dropLog ??= new DropLog(this.log)
      this.#dropLog.drop(TOO_DEEP_DROP, { topic, depth: parsed.depth, limit: parsed.limit })
      const request = tooDeepRequest(parsed)
      if (request) this.#answer(request, { code: 400, data: tooDeepAnswer(parsed.depth, parsed.limit) })
      return
    }
    if (!parsed.ok) {
      this.log.debug({ topic, reason: parsed.reason }, 'message dropped')
      return
    }
    const msg = parsed.message
    if (topic === PRESENCE_TOPIC) {
      this.#onPresence(msg)
      return
    }
    // [§3.2] the SDK rule; REQUEST, DIRECT and HOOK go to request handlers.
    switch (classifySdk(msg)) {
      case 'RESPONSE':
        if (!this.#publisher.resolve(msg)) this.#dispatchEvent(stripForEvent(msg)) // §6 item 5: how views observe
        return
      case 'REQUEST':
      case 'DIRECT':
      case 'HOOK':
        this.#dispatchRequest(msg)
        return
      case 'EVENT':
        this.#dispatchEvent(msg)
        return
      default:
        this.log.debug({ topic }, 'unknown message type dropped')
    }
  }

  /**
   * [WP-45][WP-46] the controller announces itself after every (re)connect, once its subscription is acknowledged.
   * - A routine under way that waits for a reply (or pauses after a call nobody answered) may have sent its DELETE
   *   or POST before the controller was subscribed again (the bundle reconnected first, e.g. after a broker
   *   restart): it is restarted at once, from the DELETE, instead of waiting out its reply timeout. A routine
   *   pausing after a real refusal keeps its backoff (§8.4).
   * - Otherwise, a controller that came back with another instance lost our registration: register again, after a
   *   random 0–1 s, unless a routine is already under way.
   */
  #onPresence(msg: Envelope): void {
    const registrar = this.#registrar
    if (msg.state !== 'online' || typeof msg.instance !== 'string' || !registrar) return
    const instance = msg.instance
    if (registrar.stalled) {
      if (this.#state === 'stopping' || this.#state === 'stopped') return
      this.log.info({ instance }, 'controller online, restarting the registration routine')
      this.#register()
      return
    }
    const stale = () =>
      registrar.instance !== undefined && registrar.instance !== instance && !registrar.running
    if (!stale()) return
    setTimeout(
      () => {
        if (!stale() || this.#state === 'stopping' || this.#state === 'stopped') return
        this.log.info({ instance }, 'controller restarted, registering again')
        this.#register()
      },
      Math.floor(Math.random() * 1000),
    ).unref()
  }

  #dispatchRequest(raw: Envelope): void {
    const method = String(raw.method).toLowerCase()
    const resource = String(raw.resource)
    const matches = this.#router.routes(method, resource)
    if (matches.length === 0) {
      this.#answer(raw, { code: 404, data: { message: `Route '${resource}' not found.` } })
      return
    }
    const query = queryOf(resource)
    for (const m of matches) void this.#invoke(m, raw, method, resource, query)
  }

  async #invoke(
    m: RouteMatch<RequestHandler>,
    raw: Envelope,
    method: string,
    resource: string,
    query: ReturnType<typeof queryOf>,
  ): Promise<void> {
    let answered = false
    const requestId = requestIdOf(raw) // [WP-61]
    const respond: Respond = (answer: Answer = {}) => {
      if (answered) {
        this.log.warn(
          { resource, method, requestId },
          'response() called twice; the second answer is dropped',
        )
        return
      }
      answered = true
      this.#answer(raw, answer)
    }
    if (m.validate && !m.validate(raw.data)) {
      const errors = m.validate.errors ?? []
      const message = errors.map((e) => `data${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ')
      respond({ code: 400, data: { message, errors: JSON.parse(JSON.stringify(errors)) as Json } })
      return
    }
    const message: RequestMessage = {
      id: raw.id as number,
      method,
      resource,
      data: raw.data,
      param: m.param,
      query,
      caller: isObject(raw.caller) ? (raw.caller as unknown as RequestMessage['caller']) : undefined,
      sign: Array.isArray(raw.sign) ? (raw.sign as string[]) : undefined,
      requestId,
      raw,
      ...fileFields(raw.data),
    }
    this.log.debug({ resource, method, requestId }, 'request')
    try {
      const result = await withRequestId(requestId, () =>
        withUploadTarget(message.upload, () => m.handler(message, respond)),
      )
      if (!answered) respond({ data: result === undefined ? null : (result as Json) })
    } catch (err) {
      if (answered) {
        this.log.error({ err, resource, method, requestId }, 'handler failed after answering')
        return
      }
      if (err instanceof BundleError) {
        respond({ code: err.code, data: { ...err.data, message: err.message } })
        return
      }
      this.log.error({ err, resource, method, requestId }, 'handler failed')
      if (err instanceof GatewayError) {
        // One of our own errors (e.g. GW_ERR_STORE_WRITE on a full disk): its status and `{message, code}`, so the
        // caller sees the cause (docs/errors.md).
        const status = err.statusCode >= 400 && err.statusCode <= 599 ? err.statusCode : 500
        const data: Record<string, Json> = { message: err.message, code: err.code }
        if (this.#debug) data.traceback = err.stack ?? String(err)
        respond({ code: status, data })
        return
      }
      const data: Record<string, Json> = { message: 'Internal Error.' }
      if (this.#debug) data.traceback = err instanceof Error ? (err.stack ?? String(err)) : String(err)
      respond({ code: 500, data })
    }
  }

  #answer(request: Envelope, answer: Answer): void {
    const response = bundleResponse(request, answer.code ?? 200, answer.data, this.name)
    const text = encodeResponse(response, (err) => this.log.error({ err }, 'answer cannot be serialised'))
    this.#send(text).catch((err: unknown) => this.log.warn({ err }, 'answer not sent'))
  }

  #dispatchEvent(raw: Envelope): void {
    if (typeof raw.method !== 'string' || typeof raw.resource !== 'string') return
    const method = raw.method.toLowerCase()
    const matches = this.#router.events(method, raw.resource)
    if (matches.length === 0) return
    const query = queryOf(raw.resource)
    for (const m of matches) {
      const message: EventMessage = {
        method,
        resource: raw.resource,
        code: typeof raw.code === 'number' ? raw.code : undefined,
        data: raw.data,
        param: m.param,
        query,
        raw,
      }
      Promise.resolve()
        .then(() => m.handler(message))
        .catch((err: unknown) => this.log.error({ err, resource: raw.resource }, 'event handler failed'))
    }
  }
}

/** Waits for `p` at most `ms`; failures and lateness are ignored (used on the way out). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ])
  clearTimeout(timer)
}

/** Ends the MQTT connection, forcing it after `ms` (a broker that is gone never acknowledges). */
async function endWithin(client: MqttClient, ms: number): Promise<void> {
  await within(client.endAsync(), ms)
  if (!client.disconnected) client.end(true)
}

/** §6 item 5: a response nobody waits for becomes an event without id, sign, tunnel, query and param. */
function stripForEvent(msg: Envelope): Envelope {
  const out: Envelope = { ...msg }
  delete out.id
  delete out.sign
  delete out.tunnel
  delete out.query
  delete out.param
  return out
}
