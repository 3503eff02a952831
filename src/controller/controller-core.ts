import { randomBytes, randomInt } from 'node:crypto'
import { DropLog } from '../drop-log.ts'
import type { Logger } from '../logger.ts'
import { silentLogger } from '../logger.ts'
import {
  type Caller,
  CONTROLLER_TOPIC,
  classifyController,
  controllerMessage,
  DEPENDENCY_RESOURCE,
  directTunnel,
  type Envelope,
  IdGenerator,
  isWrite,
  type Json,
  localControllerTopic,
  MAX_RESOURCE_CHARS,
  messageId,
  type ParseResult,
  PRESENCE_TOPIC,
  parsePayload,
  presenceClientId,
  REGISTRATION_RESOURCE,
  requestIdOf,
  tooDeepAnswer,
} from '../protocol/index.ts'
import { buildChain, type Chain, viewsOf } from './chain.ts'
import { type Clock, systemClock } from './clock.ts'
import type { BuiltinAnswer, BuiltinHandler, Component, ComponentInfo, ComponentStats } from './component.ts'
import { createDependencyHandler } from './dependency.ts'
import { type LockSet, LockTable, lockSetOf, meets } from './locks.ts'
import { finalAnswer, hookMessage } from './merge.ts'
import type { ControllerObserver } from './observer.ts'
import { createRegistrationHandler, type RegistrationGuard, type ReservedPattern } from './registration.ts'
import { RegistrationBudget, type RegistrationLimits, UNLIMITED } from './registration-limits.ts'
import { Registry } from './registry.ts'

/** How a request ended, for in-process callers (the web service maps it to HTTP, wire-protocol.md §8.5). */
export type OutcomeKind =
  | 'answer'
  | 'timeout'
  | 'offline'
  | 'not-found'
  | 'no-model'
  | 'locked'
  | 'id-used'
  | 'bad-request'
  | 'too-large'
  | 'unavailable'
  | 'internal'

/** The final answer or error of a request, with what the web service needs to name the failure. */
export interface Outcome {
  kind: OutcomeKind
  /** The message as it would travel on the wire. */
  message: Envelope
  /** The bundle a timeout or an offline answer is about. */
  bundle?: string
  /** The step ttl that expired. */
  ttlMs?: number
}

/** A request made in-process (the web service). It becomes a plain request with a fresh id [WP-51][WP-58]. */
export interface LocalRequest {
  method: string
  resource: string
  data?: Json
  caller?: Caller
  /** Carried to the bundle as the envelope's `requestId` (a Bundlegate extension, wire-protocol.md §3.4). */
  requestId?: string
}

/** Where a message came from. */
export interface MessageMeta {
  /** The publishing MQTT client, when the broker tells (embedded broker). */
  clientId?: string | undefined
  retain?: boolean
}

/** Options of the controller core. Every policy has a default; tests pass a fake clock. */
export interface ControllerCoreOptions {
  /** `default` (Bundlegate rules) or `sanji-compat` (shared patterns, 423 at once). @default 'default' */
  mode?: 'default' | 'sanji-compat'
  /** Offline detection (§8.3). @default true */
  liveness?: boolean
  /** Also serve `/<localId>/controller` [WP-1]. */
  localId?: string | undefined
  clock?: Clock
  logger?: Logger
  /** 16 hex characters; drawn from a CSPRNG when absent (§8.4). */
  instance?: string
  /** Makes component tunnels; default: decimal string of a random 31-bit integer [WP-11]. */
  tunnelSource?: () => string
  /** Delay between two rejected POST replies for one name (§8.2). @default 1000 */
  rejectionIntervalMs?: number
  /** Queued requests at most (§8.6). @default 1024 */
  queueLimit?: number
  /** Requests in flight at most, built-ins not counted (§8.9); more answer 503 at once. @default 1024 */
  sessionLimit?: number
  /** Patterns the gateway serves; refused to bundles with 409. @default [] */
  reserved?: readonly ReservedPattern[]
  /** Base of the in-process id generator; random when absent. */
  idBase?: number
  /**
   * Messages for a component registered a moment ago wait until it has subscribed to its tunnel, at most
   * `subscribeWaitMs` after its registration. The embedded broker reports subscriptions (`tunnelSubscribed`); with
   * an external broker our SDK says so on its presence topic (`{"state": "subscribed", "tunnel": …}`, see
   * docs/protocol.md, Choices). @default false
   */
  tracksSubscriptions?: boolean
  /** How long after its registration a component's messages may wait for its subscription. @default 2000 */
  subscribeWaitMs?: number
  /**
   * Broker authentication (docs/security.md): who may register and deregister which name; a refusal is answered
   * 403 with its message. @default everyone may use every name
   */
  registrationGuard?: RegistrationGuard
  /**
   * Broker authentication (docs/security.md): whether the MQTT client `clientId` may act for component `name`. When
   * set, a response counts only from a client acting for a component the request is waiting for, and a request
   * whose reply tunnel is another component's tunnel is dropped (its answer would be injected there).
   * @default every client may act for every component
   */
  componentGuard?: (name: string, clientId: string) => boolean
  /**
   * Broker authentication (docs/security.md): whether the MQTT client `clientId` may name `tunnel` (not a component
   * tunnel) as a request's reply tunnel; a request whose reply tunnel another user holds is dropped (the answer would
   * be injected into that user's tunnel). @default every client may name every tunnel
   */
  replyTunnelGuard?: (tunnel: string, clientId: string) => boolean
  /** Bounds on registrations (§8.9); unbounded unless given (the gateway passes `controller.*`). */
  limits?: Partial<RegistrationLimits>
  /** Told about ttl expiries and queue waits (the gateway's metrics). */
  observer?: ControllerObserver
  /** How deep the fields of a message from MQTT may nest (§8.9, `limits.jsonDepth`). @default 64 */
  jsonDepth?: number
}

/** The sink the core writes to: one MQTT publish (QoS 1, no retain). */
export interface ControllerOutput {
  publish(topic: string, payload: string): void
}

/** Counters for health and tests. */
export interface ControllerStats {
  requests: number
  events: number
  responses: number
  lateResponses: number
  dropped: number
  sessions: number
  queued: number
}

type Origin =
  | { kind: 'mqtt'; clientId: string | undefined }
  | { kind: 'local'; resolve: (o: Outcome) => void }

interface Pending {
  id: number
  request: Envelope
  method: string
  resource: string
  tunnel: string | undefined
  origin: Origin
  write: boolean
  /** Set while queued (§8.6), with the time it was queued. */
  queueTimer?: unknown
  queuedAt?: number
  lockSet?: LockSet | undefined
}

interface Session {
  pending: Pending
  chain: Chain
  step: number
  awaiting: number
  answered: Set<string>
  results: Envelope[]
  lock: LockSet | undefined
  timer: unknown
  stepTtlMs: number
  done: boolean
}

const BUILTIN_TTL_SEC = 10
const NO_LOCKS: readonly LockSet[] = []
const DEFAULT_QUEUE_WAIT_MS = 10_000

/**
 * The controller's pure logic (wire-protocol.md §4–§6 and §8): registry, routing, sessions, ttl, locks, queue,
 * liveness. It does no I/O of its own: messages come in through `handleMessage`, go out through `output`, and time
 * comes from `clock`, so every rule is unit-testable with a fake clock.
 */
export class ControllerCore {
  readonly instance: string
  readonly mode: 'default' | 'sanji-compat'
  readonly #liveness: boolean
  readonly #localTopic: string | undefined
  readonly #clock: Clock
  readonly #log: Logger
  readonly #out: ControllerOutput
  readonly #registry = new Registry()
  readonly #locks = new LockTable()
  readonly #sessions = new Map<number, Session>()
  readonly #queue: Pending[] = []
  readonly #queued = new Set<number>()
  readonly #queueLimit: number
  readonly #sessionLimit: number
  readonly #ids: IdGenerator
  readonly #tunnelSource: () => string
  readonly #rejectionIntervalMs: number
  readonly #lastRejection = new Map<string, number>()
  readonly #delayed = new Set<unknown>()
  readonly #held = new Map<string, { payloads: string[]; timer: unknown }>()
  readonly #subscribeWaitMs: number
  readonly #componentGuard: ((name: string, clientId: string) => boolean) | undefined
  readonly #replyTunnelGuard: ((tunnel: string, clientId: string) => boolean) | undefined
  readonly #observer: ControllerObserver
  readonly #eventListeners = new Set<(message: Envelope) => void>()
  readonly #componentStats = new Map<string, ComponentStats>()
  readonly #listeners = new Set<
    (event: 'registered' | 'deregistered' | 'offline', c: ComponentInfo) => void
  >()
  #draining = false
  #drainAgain = false
  #closed = false
  readonly #stats = { requests: 0, events: 0, responses: 0, lateResponses: 0, dropped: 0 }
  readonly #parse: { maxDepth?: number }
  readonly #drops: DropLog

  constructor(output: ControllerOutput, options: ControllerCoreOptions = {}) {
    this.#out = output
    this.mode = options.mode ?? 'default'
    this.#liveness = options.liveness ?? true
    this.#localTopic = options.localId ? localControllerTopic(options.localId) : undefined
    this.#clock = options.clock ?? systemClock
    this.#log = (options.logger ?? silentLogger()).child({ component: 'controller' })
    this.instance = options.instance ?? randomBytes(8).toString('hex')
    this.#tunnelSource = options.tunnelSource ?? (() => String(randomInt(0, 2 ** 31)))
    this.#rejectionIntervalMs = options.rejectionIntervalMs ?? 1000
    this.#queueLimit = options.queueLimit ?? 1024
    this.#sessionLimit = options.sessionLimit ?? 1024
    this.#ids = new IdGenerator(options.idBase)
    this.#subscribeWaitMs = options.subscribeWaitMs ?? 2000
    this.#componentGuard = options.componentGuard
    this.#replyTunnelGuard = options.replyTunnelGuard
    this.#observer = options.observer ?? {}
    this.#parse = options.jsonDepth === undefined ? {} : { maxDepth: options.jsonDepth }
    this.#drops = new DropLog(this.#log, { now: () => this.#clock.now() })
    const registration = createRegistrationHandler({
      registry: this.#registry,
      locks: this.#locks,
      mode: this.mode,
      instance: this.instance,
      now: () => this.#clock.now(),
      newTunnel: () => this.#newTunnel(),
      reserved: options.reserved ?? [],
      changed: (event, c) => this.#changed(event, c),
      rejectionDelay: (name) => this.#rejectionDelay(name),
      tracksSubscriptions: options.tracksSubscriptions ?? false,
      guard: options.registrationGuard,
      budget: new RegistrationBudget({ ...UNLIMITED, ...options.limits }, () => this.#clock.now()),
    })
    // [WP-22] the built-ins exist from start-up.
    this.#addBuiltin('registration', [REGISTRATION_RESOURCE, `${REGISTRATION_RESOURCE}/+`], registration)
    this.#addBuiltin(
      'dependency',
      [DEPENDENCY_RESOURCE, `${DEPENDENCY_RESOURCE}/+`],
      createDependencyHandler(this.#registry),
    )
  }

  /** The topics the controller must receive [WP-1]. */
  get topics(): string[] {
    return this.#localTopic ? [CONTROLLER_TOPIC, this.#localTopic] : [CONTROLLER_TOPIC]
  }

  /** The presence announcement published after every (re)connect [WP-45]. */
  presenceMessage(state: 'online' | 'offline'): string {
    return JSON.stringify({ state, instance: this.instance })
  }

  /** Publishes `online` on `/controller/presence` [WP-45]. */
  announce(): void {
    this.#out.publish(PRESENCE_TOPIC, this.presenceMessage('online'))
  }

  /** One MQTT message for the controller: `/controller`, `/<localId>/controller` or a bundle presence topic. */
  handleMessage(topic: string, payload: Uint8Array | string, meta: MessageMeta = {}): void {
    if (this.#closed) return
    if (meta.retain) return // [WP-2] retained deliveries are ignored
    const presenceOf = presenceClientId(topic)
    if (presenceOf !== undefined) {
      this.#presence(presenceOf, payload)
      return
    }
    if (topic !== CONTROLLER_TOPIC && topic !== this.#localTopic) return
    const parsed = parsePayload(payload, this.#parse)
    if (!parsed.ok) {
      if (parsed.reason === 'too-deep') {
        this.#tooDeep(parsed, meta.clientId)
        return
      }
      // [WP-2][WP-3] empty, non-JSON, non-object: dropped without reply.
      this.#stats.dropped++
      this.#log.debug({ topic, reason: parsed.reason }, 'message dropped')
      return
    }
    const msg = parsed.message
    const kind = classifyController(msg)
    if (kind === 'REQUEST' && this.#foreignReplyTunnel(msg, meta.clientId)) return
    if (parsed.oversize) {
      // [WP-59] answered only when it is a request we can answer.
      this.#stats.dropped++
      this.#log.warn({ topic, kind }, 'payload exceeds 1048576 bytes')
      if (kind === 'REQUEST') {
        this.#rejectRaw(
          msg,
          413,
          { message: 'payload too large', log: 'payload exceeds 1048576 bytes' },
          'too-large',
        )
      }
      return
    }
    if (kind === 'EVENT') this.#event(msg)
    else if (kind === 'RESPONSE') this.#response(msg, meta.clientId)
    else this.#request(msg, meta.clientId)
  }

  /** §8.9: nested over the budget, never parsed; a request is answered 400 from its shallow head, like the 413. */
  #tooDeep(p: Extract<ParseResult, { reason: 'too-deep' }>, clientId: string | undefined): void {
    const head = p.head
    const kind = head ? classifyController(head) : undefined
    if (head && kind === 'REQUEST' && this.#foreignReplyTunnel(head, clientId)) return
    this.#stats.dropped++
    this.#drops.drop('message dropped: nested deeper than the JSON depth limit', {
      kind,
      depth: p.depth,
      limit: p.limit,
      clientId,
    })
    if (head && kind === 'REQUEST') this.#rejectRaw(head, 400, tooDeepAnswer(p.depth, p.limit), 'bad-request')
    // a model's answer that cannot be taken ends its request at once (502) instead of holding it for the ttl
    if (head && kind === 'RESPONSE')
      this.#response({ ...head, code: 502, data: tooDeepAnswer(p.depth, p.limit) }, clientId)
  }

  /**
   * With the guards of broker authentication: a request whose reply tunnel is a component tunnel the sender may not
   * use, or a reply tunnel another user holds.
   */
  #foreignReplyTunnel(msg: Envelope, clientId: string | undefined): boolean {
    if (clientId === undefined) return false
    const tunnel = directTunnel(msg)
    if (tunnel === undefined) return false
    const owner = this.#registry.byTunnel(tunnel)
    const guard = this.#componentGuard
    if (owner && guard && !guard(owner.name, clientId)) {
      this.#stats.dropped++
      this.#log.warn(
        { id: msg.id, clientId, tunnel, bundle: owner.name },
        "request dropped: its reply tunnel is another component's",
      )
      return true
    }
    const replyGuard = this.#replyTunnelGuard
    if (owner || !replyGuard || replyGuard(tunnel, clientId)) return false
    this.#stats.dropped++
    this.#log.warn({ id: msg.id, clientId, tunnel }, "request dropped: its reply tunnel is another user's")
    return true
  }

  /** An MQTT client went away (embedded broker disconnect, or its will) [WP-42][WP-43]. */
  clientGone(clientId: string): void {
    if (!this.#liveness || this.#closed) return
    let any = false
    for (const c of this.#registry.components()) {
      if (c.clientId === clientId && c.online) {
        c.online = false
        any = true
        this.#log.info({ bundle: c.name, clientId }, 'bundle offline')
        this.#emit('offline', c)
      }
    }
    if (!any) return
    for (const s of [...this.#sessions.values()]) {
      if (s.done) continue
      const off = s.chain.steps[s.step]?.find((c) => !c.online && !s.answered.has(c.name))
      if (off)
        this.#finish(s, this.#offlineMessage(s.pending, off.name), { kind: 'offline', bundle: off.name })
    }
  }

  /**
   * The broker reports a subscription (embedded broker). A component that registered a moment ago is reachable only
   * from now on: messages held for its tunnel go out.
   */
  tunnelSubscribed(topic: string): void {
    const c = this.#registry.byTunnel(topic)
    if (!c || c.subscribed) return
    c.subscribed = true
    this.#log.debug(
      { bundle: c.name, tunnel: topic, afterMs: this.#clock.now() - c.registeredAt },
      'tunnel subscribed',
    )
    this.#release(topic)
  }

  /** The name of the component whose tunnel `topic` is, if any (the broker's ACL asks). */
  tunnelOwner(topic: string): string | undefined {
    return this.#registry.byTunnel(topic)?.name
  }

  /** Sends a request in-process, as the web service does: a plain request with a fresh id [WP-51]. */
  request(input: LocalRequest): Promise<Outcome> {
    return new Promise((resolve) => {
      if (this.#closed) {
        resolve(this.#unavailable(0, input.method, input.resource))
        return
      }
      const id = this.#ids.next((n) => this.#inFlight(n))
      const request: Envelope = { id, method: input.method, resource: input.resource }
      request.data = input.data === undefined ? {} : input.data
      if (input.caller) request.caller = { token: input.caller.token, scope: input.caller.scope } // [WP-60]
      if (input.requestId !== undefined) request.requestId = input.requestId
      this.#stats.requests++
      const origin: Origin = { kind: 'local', resolve }
      if (!this.#validRequest(request, undefined, origin)) return
      this.#route(this.#pending(request, id, undefined, origin), false, this.#queuedWrites())
    })
  }

  /** Publishes an event in-process, exactly as if it had arrived on `/controller` [WP-38]. */
  event(message: Envelope): void {
    if (!this.#closed) this.#event(message)
  }

  /** A snapshot of every component (built-ins included). */
  components(): ComponentInfo[] {
    return [...this.#registry.components()].map((c) => info(c, this.#statsOf(c.name)))
  }

  /**
   * Called with every valid event (§5.11), whether or not a view matches: the web service's push channel. The
   * message must not be changed. Returns an unsubscribe function.
   */
  onEvent(listener: (message: Envelope) => void): () => void {
    this.#eventListeners.add(listener)
    return () => this.#eventListeners.delete(listener)
  }

  /** Called with every registration, deregistration and offline transition. Returns an unsubscribe function. */
  onChange(
    listener: (event: 'registered' | 'deregistered' | 'offline', c: ComponentInfo) => void,
  ): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  stats(): ControllerStats {
    return { ...this.#stats, sessions: this.#sessions.size, queued: this.#queue.length }
  }

  /** Stops every timer; in-process callers still waiting get 503. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    for (const t of this.#delayed) this.#clock.clearTimeout(t)
    this.#delayed.clear()
    for (const h of this.#held.values()) this.#clock.clearTimeout(h.timer)
    this.#held.clear()
    for (const p of this.#queue.splice(0)) {
      this.#clock.clearTimeout(p.queueTimer)
      if (p.origin.kind === 'local') p.origin.resolve(this.#unavailable(p.id, p.method, p.resource))
    }
    this.#queued.clear()
    for (const s of this.#sessions.values()) {
      this.#clock.clearTimeout(s.timer)
      s.done = true
      const o = s.pending.origin
      if (o.kind === 'local') o.resolve(this.#unavailable(s.pending.id, s.pending.method, s.pending.resource))
    }
    this.#sessions.clear()
  }

  // ---------------------------------------------------------------- intake

  #request(msg: Envelope, clientId: string | undefined): void {
    this.#stats.requests++
    const origin: Origin = { kind: 'mqtt', clientId }
    const tunnel = directTunnel(msg)
    if (!this.#validRequest(msg, tunnel, origin)) return
    delete msg.caller // [WP-60] only the gateway vouches for a caller
    this.#route(this.#pending(msg, messageId(msg) as number, tunnel, origin), false, this.#queuedWrites())
  }

  /** §8.9: resource then method; a rejection is answered whenever there is a tunnel (or views) [WP-59]. */
  #validRequest(msg: Envelope, tunnel: string | undefined, origin: Origin): boolean {
    const bad = (log: string) => {
      const data = { message: 'wrong request context', log }
      this.#reject(msg, tunnel, origin, 400, data, 'bad-request')
      return false
    }
    if (typeof msg.resource !== 'string' || msg.resource.length === 0) return bad("need 'resource'")
    if (msg.resource.length > MAX_RESOURCE_CHARS) return bad("'resource' exceeds 1023 characters")
    if (typeof msg.method !== 'string' || msg.method.length === 0) return bad("need 'method'")
    return true
  }

  #pending(request: Envelope, id: number, tunnel: string | undefined, origin: Origin): Pending {
    const method = request.method as string
    return {
      id,
      request,
      method,
      resource: request.resource as string,
      tunnel,
      origin,
      write: isWrite(method),
    }
  }

  #event(msg: Envelope): void {
    // §5.11: needs a string method and a non-empty resource; never answered.
    if (typeof msg.method !== 'string' || typeof msg.resource !== 'string' || msg.resource.length === 0) {
      this.#stats.dropped++
      return
    }
    this.#stats.events++
    delete msg.caller
    for (const l of this.#eventListeners) l(msg)
    const views = viewsOf(this.#registry, this.#registry.match(msg.resource))
    if (views.length === 0) return
    const payload = JSON.stringify(msg) // [WP-38] unchanged, to every matching view, never a model
    for (const v of views) if (v.online) this.#publishTo(v, payload)
  }

  #response(msg: Envelope, clientId?: string): void {
    this.#stats.responses++
    const s = this.#sessions.get(messageId(msg) as number)
    if (!s || s.done) {
      // [WP-7][WP-35] unknown or finished session: dropped silently.
      this.#stats.lateResponses++
      this.#log.debug({ id: msg.id }, 'response without session dropped')
      return
    }
    const guard = this.#componentGuard
    if (guard && clientId !== undefined && !s.chain.steps[s.step]?.some((c) => guard(c.name, clientId))) {
      // broker authentication: only a client acting for an awaited component may answer
      this.#stats.dropped++
      this.#log.warn({ id: msg.id, clientId }, 'response dropped: not from a component the request waits for')
      return
    }
    s.results.push(msg)
    const sign = Array.isArray(msg.sign) ? msg.sign[msg.sign.length - 1] : undefined
    if (typeof sign === 'string') s.answered.add(sign)
    if (msg.code !== 200) {
      this.#finish(s, msg, { kind: 'answer' }) // [WP-30] ends at once, delivered unchanged
      return
    }
    s.awaiting--
    if (s.awaiting > 0) return
    if (s.step + 1 < s.chain.steps.length) this.#startStep(s, s.step + 1, hookMessage(s.results))
    else this.#finish(s, finalAnswer(s.results), { kind: 'answer' })
  }

  #presence(clientId: string, payload: Uint8Array | string): void {
    const parsed = parsePayload(payload)
    if (!parsed.ok) return
    const msg = parsed.message
    if (msg.state === 'offline') this.clientGone(clientId)
    else if (msg.state === 'subscribed' && typeof msg.tunnel === 'string') {
      // Bundlegate only (docs/protocol.md, Choices): our SDK has its SUBACK for this tunnel. It counts only from the
      // client the component is bound to [WP-47].
      const c = this.#registry.byTunnel(msg.tunnel)
      if (c && c.clientId === clientId) this.tunnelSubscribed(msg.tunnel)
    }
  }

  // ---------------------------------------------------------------- routing (§8.12 steps 4–10)

  #route(p: Pending, fromQueue: boolean, blockers: readonly LockSet[]): 'started' | 'answered' | 'queued' {
    const matched = this.#registry.match(p.resource)
    if (matched.length === 0) {
      // [WP-26] 404 without data; a plain request has no view to get it.
      this.#fail(p, 404, undefined, [], { kind: 'not-found' })
      return 'answered'
    }
    const views = () => viewsOf(this.#registry, matched)
    if (!fromQueue && this.#inFlight(p.id)) {
      this.#fail(p, 403, { message: "'id' was used, please use another 'id'" }, views(), { kind: 'id-used' }) // [WP-27]
      return 'answered'
    }
    const chain = buildChain(this.#registry, matched, p.write)
    const step1 = chain.steps[0] as Component[]
    const builtin = step1.some((c) => c.builtin !== undefined)
    const chainModels = chain.steps.flat()
    // [WP-54] in default mode, registration and deregistration never meet locks.
    if (!(builtin && this.mode === 'default')) {
      const blocked =
        this.#locks.meets(matched, chainModels) || blockers.some((b) => meets(b, matched, chainModels))
      if (blocked) {
        if (this.mode === 'sanji-compat') {
          this.#fail(p, 423, { message: 'resource is locked' }, views(), { kind: 'locked' }) // [WP-53]
          return 'answered'
        }
        p.lockSet = p.write ? lockSetOf(chain) : undefined
        if (!fromQueue) return this.#enqueue(p, step1, views)
        return 'queued'
      }
    }
    if (step1.length === 0) {
      const data = { message: 'request forbidden', log: 'resource has no subscribed model' }
      this.#fail(p, 403, data, chain.views, { kind: 'no-model' }) // [WP-28]
      return 'answered'
    }
    if (builtin && step1.some((c) => !c.online)) {
      // A dead bundle whose pattern also matches the built-ins (a model on `/#`) must not block every registration:
      // the built-in answers, the offline models are left out of this request.
      chain.steps[0] = step1.filter((c) => c.online)
      chain.steps.length = 1
    }
    const offline = (chain.steps[0] as Component[]).find((c) => !c.online)
    if (offline) {
      // [WP-42] an offline model answers 503 at once.
      const msg = this.#offlineMessage(p, offline.name)
      this.#deliver(p, msg, chain.views, { kind: 'offline', bundle: offline.name })
      return 'answered'
    }
    if (!builtin && this.#sessions.size >= this.#sessionLimit) {
      const data = { message: 'too many requests in flight', log: `at most ${this.#sessionLimit} at once` }
      this.#fail(p, 503, data, chain.views, { kind: 'unavailable' }) // §8.9: a never-answering model held memory
      return 'answered'
    }
    const lock = p.write && !(builtin && this.mode === 'default') ? lockSetOf(chain) : undefined
    const session: Session = {
      pending: p,
      chain,
      step: 0,
      awaiting: 0,
      answered: new Set(),
      results: [],
      lock,
      timer: undefined,
      stepTtlMs: 0,
      done: false,
    }
    this.#sessions.set(p.id, session)
    if (lock) this.#locks.take(lock) // [WP-36]
    this.#startStep(session, 0, p.request)
    return 'started'
  }

  /** Publishes `message` to every model of step `k` and arms the step ttl (§5.4, §5.8). */
  #startStep(s: Session, k: number, message: Envelope): void {
    const step = s.chain.steps[k] as Component[]
    if (k > 0) {
      const off = step.find((c) => !c.online)
      if (off) {
        this.#finish(s, this.#offlineMessage(s.pending, off.name), { kind: 'offline', bundle: off.name })
        return
      }
    }
    s.step = k
    s.awaiting = step.length
    s.answered = new Set()
    // [WP-34] the smallest ttl among the step's models, from the step's start.
    let ttlSec = Number.POSITIVE_INFINITY
    for (const c of step) ttlSec = Math.min(ttlSec, c.ttlSec)
    s.stepTtlMs = Math.max(0, ttlSec * 1000)
    this.#clock.clearTimeout(s.timer)
    s.timer = this.#clock.setTimeout(() => this.#expire(s), s.stepTtlMs)
    let payload: string
    try {
      payload = JSON.stringify(message)
    } catch (err) {
      // only an in-process caller can hand over a value that does not serialise (MQTT and HTTP input is bounded)
      const data = { message: 'request cannot be serialised', log: (err as Error).message }
      const msg = controllerMessage({ ...s.pending, code: 500, data })
      this.#finish(s, msg, { kind: 'internal' })
      return
    }
    for (const c of step) this.#publishTo(c, payload)
    for (const c of step) {
      if (s.done) return
      if (c.builtin) this.#runBuiltin(c, s, message)
    }
  }

  #runBuiltin(c: Component, s: Session, message: Envelope): void {
    const clientId = s.pending.origin.kind === 'mqtt' ? s.pending.origin.clientId : undefined
    const answer = (c.builtin as NonNullable<Component['builtin']>)(message, { clientId })
    if (answer instanceof Promise) {
      // an asynchronous built-in (the fleet's `/remote/+`, src/fleet): answers when it settles, the ttl still holds
      void answer.then(
        (a) => this.#builtinReply(s, a),
        () => this.#builtinReply(s, { code: 500 }),
      )
      return
    }
    this.#builtinReply(s, answer)
  }

  #builtinReply(s: Session, answer: BuiltinAnswer): void {
    const reply = controllerMessage({
      id: s.pending.id,
      code: answer.code,
      method: s.pending.method,
      resource: s.pending.resource,
      data: answer.data,
    })
    if (answer.delayMs === Number.POSITIVE_INFINITY) {
      // damping backlog beyond the built-in ttl: no timer; the session's ttl answers (408), as for any late answer
      this.#stats.dropped++
    } else if (answer.delayMs && answer.delayMs > 0) {
      const t = this.#clock.setTimeout(() => {
        this.#delayed.delete(t)
        this.#response(reply)
      }, answer.delayMs)
      this.#delayed.add(t)
    } else {
      this.#response(reply)
    }
  }

  #expire(s: Session): void {
    if (s.done) return
    const step = s.chain.steps[s.step] as Component[]
    const late = step.find((c) => !s.answered.has(c.name)) ?? step[0]
    const data = { message: 'session failed due to ttl expired .' }
    const msg = controllerMessage({
      id: s.pending.id,
      code: 408,
      method: s.pending.method,
      resource: s.pending.resource,
      data,
    })
    const requestId = requestIdOf(s.pending.request) // over MQTT it is anybody's input: only a valid id is logged
    this.#log.debug(
      { id: s.pending.id, resource: s.pending.resource, bundle: late?.name, requestId },
      'session ttl expired',
    )
    this.#observer.expired?.(late?.name)
    const outcome: Omit<Outcome, 'message'> = { kind: 'timeout', ttlMs: s.stepTtlMs }
    if (late) outcome.bundle = late.name
    this.#finish(s, msg, outcome)
  }

  #finish(s: Session, message: Envelope, outcome: Omit<Outcome, 'message'>): void {
    if (s.done) return
    s.done = true
    this.#clock.clearTimeout(s.timer)
    this.#sessions.delete(s.pending.id)
    this.#count(s, message)
    this.#deliver(s.pending, message, s.chain.views, outcome) // [WP-33]
    if (s.lock) {
      this.#locks.release(s.lock)
      this.#drain()
    }
  }

  // ---------------------------------------------------------------- delivery and errors

  /** §5.6: a direct request's answer goes only to its tunnel; a plain one's to every online view; in-process too. */
  #deliver(
    p: Pending,
    message: Envelope,
    views: readonly Component[],
    outcome: Omit<Outcome, 'message'>,
  ): void {
    if (p.origin.kind === 'local') p.origin.resolve({ ...outcome, message })
    if (p.tunnel !== undefined) {
      this.#out.publish(p.tunnel, JSON.stringify(message))
      return
    }
    let payload: string | undefined
    for (const v of views) {
      if (!v.online || v.tunnel === undefined) continue
      payload ??= JSON.stringify(message)
      this.#publishTo(v, payload)
    }
  }

  /**
   * Publishes to a component tunnel; holds the message while the component has not subscribed yet, at most
   * `subscribeWaitMs` after its registration (a bundle that never reports it, e.g. an original Python bundle on an
   * external broker, is delayed only right after it registers).
   */
  #publishTo(c: Component, payload: string): void {
    const tunnel = c.tunnel
    if (tunnel === undefined) return
    const waited = this.#clock.now() - c.registeredAt
    if (!c.subscribed && waited >= this.#subscribeWaitMs) c.subscribed = true // never reported: publish anyway
    if (c.subscribed) {
      this.#out.publish(tunnel, payload)
      return
    }
    let held = this.#held.get(tunnel)
    if (!held) {
      const timer = this.#clock.setTimeout(() => {
        c.subscribed = true // never reported: publish anyway
        this.#release(tunnel)
      }, this.#subscribeWaitMs - waited)
      held = { payloads: [], timer }
      this.#held.set(tunnel, held)
    }
    held.payloads.push(payload)
  }

  #release(tunnel: string): void {
    const held = this.#held.get(tunnel)
    if (!held) return
    this.#held.delete(tunnel)
    this.#clock.clearTimeout(held.timer)
    for (const p of held.payloads) this.#out.publish(tunnel, p)
  }

  #fail(
    p: Pending,
    code: number,
    data: Json | undefined,
    views: readonly Component[],
    outcome: Omit<Outcome, 'message'>,
  ) {
    const msg = controllerMessage({ id: p.id, code, method: p.method, resource: p.resource, data })
    this.#deliver(p, msg, views, outcome)
  }

  /** A rejection before a pending request exists (validation, 413): to the tunnel, else the views (§5.7, §8.9). */
  #reject(
    msg: Envelope,
    tunnel: string | undefined,
    origin: Origin,
    code: number,
    data: Json,
    kind: OutcomeKind,
  ) {
    const id = messageId(msg) ?? 0
    const method = typeof msg.method === 'string' ? msg.method : ''
    const resource = typeof msg.resource === 'string' ? msg.resource : ''
    const reply = controllerMessage({ id, code, method, resource, data })
    const views =
      resource.length > 0 && resource.length <= MAX_RESOURCE_CHARS
        ? viewsOf(this.#registry, this.#registry.match(resource))
        : []
    const p: Pending = { id, request: msg, method, resource, tunnel, origin, write: false }
    this.#deliver(p, reply, views, { kind })
  }

  #rejectRaw(msg: Envelope, code: number, data: Json, kind: OutcomeKind): void {
    this.#reject(msg, directTunnel(msg), { kind: 'mqtt', clientId: undefined }, code, data, kind)
  }

  #offlineMessage(p: Pending, name: string): Envelope {
    const data = { message: `bundle '${name}' is offline` }
    return controllerMessage({ id: p.id, code: 503, method: p.method, resource: p.resource, data })
  }

  #unavailable(id: number, method: string, resource: string): Outcome {
    const data = { message: 'service unavailable', log: 'controller is stopping' }
    return { kind: 'unavailable', message: controllerMessage({ id, code: 503, method, resource, data }) }
  }

  // ---------------------------------------------------------------- queue (§8.6, default mode)

  #inFlight(id: number): boolean {
    return this.#sessions.has(id) || this.#queued.has(id)
  }

  #queuedWrites(): readonly LockSet[] {
    if (this.#queue.length === 0) return NO_LOCKS
    const out: LockSet[] = []
    for (const q of this.#queue) if (q.write && q.lockSet) out.push(q.lockSet)
    return out
  }

  #enqueue(p: Pending, step1: readonly Component[], views: () => Component[]): 'queued' | 'answered' {
    if (this.#queue.length >= this.#queueLimit) {
      this.#fail(p, 423, { message: 'resource is locked' }, views(), { kind: 'locked' })
      return 'answered'
    }
    // [WP-52] the wait is bounded by the request's own ttl: the smallest step-1 ttl, or 10 s.
    let waitMs = DEFAULT_QUEUE_WAIT_MS
    if (step1.length > 0) waitMs = Math.max(0, Math.min(...step1.map((c) => c.ttlSec)) * 1000)
    p.queueTimer = this.#clock.setTimeout(() => {
      if (!this.#unqueue(p)) return
      const matched = this.#registry.match(p.resource)
      this.#fail(p, 423, { message: 'resource is locked' }, viewsOf(this.#registry, matched), {
        kind: 'locked',
      })
      this.#drain()
    }, waitMs)
    p.queuedAt = this.#clock.now()
    this.#queue.push(p)
    this.#queued.add(p.id)
    return 'queued'
  }

  #unqueue(p: Pending): boolean {
    const i = this.#queue.indexOf(p)
    if (i === -1) return false
    this.#queue.splice(i, 1)
    this.#queued.delete(p.id)
    this.#clock.clearTimeout(p.queueTimer)
    if (!this.#closed) this.#observer.dequeued?.(this.#clock.now() - (p.queuedAt ?? 0))
    return true
  }

  /** Scans the queue in arrival order; no request overtakes an earlier queued write it shares anything with. */
  #drain(): void {
    if (this.#draining) {
      this.#drainAgain = true
      return
    }
    this.#draining = true
    try {
      do {
        this.#drainAgain = false
        const blockers: LockSet[] = []
        for (const p of [...this.#queue]) {
          if (!this.#queued.has(p.id)) continue
          const result = this.#route(p, true, blockers)
          if (result === 'queued') {
            if (p.write && p.lockSet) blockers.push(p.lockSet)
          } else {
            this.#unqueue(p)
          }
        }
      } while (this.#drainAgain && !this.#closed)
    } finally {
      this.#draining = false
    }
  }

  // ---------------------------------------------------------------- registry helpers

  /** An in-process model added by the gateway (the fleet's `/remote/+`): always online, never locks (§8.6). */
  addBuiltin(name: string, patterns: string[], handler: BuiltinHandler, ttlSec: number): void {
    this.#addBuiltin(name, patterns, handler, ttlSec)
  }

  #addBuiltin(name: string, patterns: string[], handler: BuiltinHandler, ttlSec = BUILTIN_TTL_SEC): void {
    this.#registry.add({
      name,
      role: 'model',
      description: `built-in ${name}`,
      ttlSec,
      hooks: [],
      patterns,
      tunnel: undefined,
      builtin: handler,
      clientId: undefined,
      online: true,
      subscribed: true,
      registeredAt: this.#clock.now(),
      data: {},
    })
  }

  #newTunnel(): string {
    for (;;) {
      const t = this.#tunnelSource()
      if (!this.#registry.hasTunnel(t)) return t
    }
  }

  /** §8.2: a rejected POST reply for a name goes out no sooner than the interval after the previous one [WP-41]. */
  /**
   * [WP-41] How long to hold a rejected POST's reply for `name`: one reply per name per interval. A backlog that
   * would outlast the built-in ttl gets no timer at all (infinity): its session ends with the ttl, so a flood of
   * rejected POSTs never stacks timers without bound.
   */
  #rejectionDelay(name: string): number {
    const now = this.#clock.now()
    const last = this.#lastRejection.get(name)
    const at = last === undefined ? now : Math.max(now, last + this.#rejectionIntervalMs)
    if (at - now >= BUILTIN_TTL_SEC * 1000) return Number.POSITIVE_INFINITY
    this.#lastRejection.set(name, at)
    if (this.#lastRejection.size > 256) {
      for (const [k, v] of this.#lastRejection)
        if (v + this.#rejectionIntervalMs < now) this.#lastRejection.delete(k)
    }
    return at - now
  }

  #changed(event: 'registered' | 'deregistered', c: Component): void {
    this.#log.info(
      { bundle: c.name, role: c.role, patterns: c.patterns, tunnel: c.tunnel, clientId: c.clientId },
      event === 'registered' ? 'component registered' : 'component deregistered',
    )
    this.#emit(event, c)
    if (this.#queue.length > 0) this.#drain()
  }

  #statsOf(name: string): ComponentStats {
    let st = this.#componentStats.get(name)
    if (!st) {
      st = { requests: 0, errors: 0, lastError: undefined }
      this.#componentStats.set(name, st)
    }
    return st
  }

  /** Counts a finished session for every model it reached; an error answer is charged to the step that ended it. */
  #count(s: Session, message: Envelope): void {
    const code = typeof message.code === 'number' ? message.code : 0
    const lastStep = Math.min(s.step, s.chain.steps.length - 1)
    for (let i = 0; i <= lastStep; i++) {
      for (const c of s.chain.steps[i] ?? []) {
        if (c.builtin) continue
        const st = this.#statsOf(c.name)
        st.requests++
        if (code >= 400 && i === lastStep) {
          st.errors++
          const d = message.data
          const text =
            typeof d === 'string'
              ? d
              : d && typeof d === 'object' && !Array.isArray(d) && typeof d.message === 'string'
                ? d.message
                : ''
          st.lastError = { at: this.#clock.now(), code, message: text.slice(0, 200) }
        }
      }
    }
  }

  #emit(event: 'registered' | 'deregistered' | 'offline', c: Component): void {
    if (event === 'registered') this.#componentStats.delete(c.name)
    if (this.#listeners.size === 0) return
    const i = info(c, this.#statsOf(c.name))
    for (const l of this.#listeners) l(event, i)
  }
}

function info(c: Component, st: ComponentStats): ComponentInfo {
  return {
    name: c.name,
    role: c.role,
    description: c.description,
    ttlSec: c.ttlSec,
    hooks: [...c.hooks],
    patterns: [...c.patterns],
    tunnel: c.tunnel,
    builtin: c.builtin !== undefined,
    clientId: c.clientId,
    online: c.online,
    registeredAt: c.registeredAt,
    data: c.data,
    stats: { ...st },
  }
}
