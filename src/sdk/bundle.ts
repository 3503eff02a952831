import { randomBytes } from 'node:crypto'
import { createError } from '../errors.ts'
import { createLogger, type Logger } from '../logger.ts'
import { type Envelope, type Json, MAX_JSON_DEPTH } from '../protocol/index.ts'
import { BundleConnection } from './bundle-connection.ts'
import type { BundleOptions } from './bundle-options.ts'
import { ConfigStore, type ConfigStoreOptions } from './config-store.ts'
import { Dispatcher } from './dispatcher.ts'
import { debugFromEnv, jsonDepthFromEnv } from './env.ts'
import { BundleFiles } from './files.ts'
import { loadManifest, type Manifest, validateManifest } from './manifest.ts'
import type { EventHandler, RequestHandler } from './message.ts'
import { watchParent } from './parent-watch.ts'
import { deriveAllProfiles } from './profiles.ts'
import { type Publish, Publisher } from './publisher.ts'
import { Registrar } from './registrar.ts'
import { type Declared, kDeclared } from './route.ts'
import { type EventSpec, Router, type RouteSpec } from './router.ts'

export type { BundleOptions } from './bundle-options.ts'

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
  readonly #publisher: Publisher
  readonly #dispatcher: Dispatcher
  #manifest: Manifest | undefined
  #connection: BundleConnection | undefined
  #registrar: Registrar | undefined
  #state: State = 'new'
  #registered = false
  #onRegistered: (() => void) | undefined
  #signalHandler: (() => void) | undefined
  #initialized: Promise<void> = Promise.resolve()

  constructor(options: BundleOptions = {}) {
    this.#options = options
    this.dir = process.env.BUNDLE_DIR || options.dir || process.cwd()
    this.log = options.logger ?? createLogger()
    this.clientId = options.clientId ?? `bg-${randomBytes(8).toString('hex')}`
    this.#publisher = new Publisher({
      replyTunnel: this.#replyTunnel,
      send: (payload) => this.#send(payload),
    })
    this.#dispatcher = new Dispatcher({
      router: this.#router,
      publisher: this.#publisher,
      log: () => this.log,
      name: () => this.name,
      send: (payload) => this.#send(payload),
      debug: options.debug ?? debugFromEnv(),
      parse: { maxDepth: jsonDepthFromEnv() ?? MAX_JSON_DEPTH },
      onPresence: (msg) => this.#onPresence(msg),
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
        swapTunnel: async (role, tunnel) => this.#connection?.swapTunnel(role, tunnel),
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
      this.#connection?.destroy() // it may still be connecting: force it closed, no reconnects
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
    await this.#connection?.close() // §8.3: a goodbye on the presence topic, then the disconnect
    this.#publisher.rejectAll(createError('GW_ERR_BUNDLE_STOPPED', [this.#manifest?.name ?? this.clientId]))
    for (const s of this.#stores.splice(0)) await s.close()
    this.#state = 'stopped'
    if (this.#signalHandler) {
      process.removeListener('SIGINT', this.#signalHandler)
      process.removeListener('SIGTERM', this.#signalHandler)
    }
    this.log.debug('stopped')
  }

  // ------------------------------------------------------------ connection (bundle-connection.ts)

  #connect(): void {
    this.#connection = new BundleConnection({
      clientId: this.clientId,
      replyTunnel: this.#replyTunnel,
      tunnels: this.#tunnels,
      options: this.#options,
      log: () => this.log,
      onMessage: (topic, payload) => this.#dispatcher.onMessage(topic, payload),
      onConnect: () => this.#register(),
    })
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

  #send(payload: string): Promise<void> {
    const connection = this.#connection
    if (!connection) {
      return Promise.reject(
        createError('GW_ERR_BUNDLE_NOT_CONNECTED', [this.#manifest?.name ?? this.clientId]),
      )
    }
    return connection.send(payload)
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

  // ------------------------------------------------------------ the controller's presence (dispatch: dispatcher.ts)

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
}
