import { randomBytes, randomInt } from 'node:crypto'
import { DropLog } from '../drop-log.ts'
import { silentLogger } from '../logger.ts'
import {
  CONTROLLER_TOPIC,
  DEPENDENCY_RESOURCE,
  type Envelope,
  IdGenerator,
  localControllerTopic,
  PRESENCE_TOPIC,
  parsePayload,
  presenceClientId,
  REGISTRATION_RESOURCE,
} from '../protocol/index.ts'
import { viewsOf } from './chain.ts'
import { type Clock, systemClock } from './clock.ts'
import type { BuiltinHandler, Component, ComponentChange, ComponentInfo } from './component.ts'
import { ComponentCounters } from './component-counters.ts'
import type { ControllerCoreOptions, ControllerStats, LocalRequest, MessageMeta } from './core-options.ts'
import type { CoreState } from './core-state.ts'
import { inFlight } from './core-state.ts'
import { fail, unavailable } from './delivery.ts'
import { createDependencyHandler } from './dependency.ts'
import { takeEvent, takeMessage, takeTooDeep, validRequest } from './intake.ts'
import { LockTable } from './locks.ts'
import { type ControllerOutput, Outbox } from './outbox.ts'
import type { Outcome } from './outcome.ts'
import { createRegistrationHandler } from './registration.ts'
import { RejectionDamper } from './registration-damping.ts'
import { RegistrationBudget, UNLIMITED } from './registration-limits.ts'
import { Registry } from './registry.ts'
import { routeRequest } from './route-request.ts'
import { type Origin, pendingOf } from './session.ts'
import { endOfflineSessions } from './session-steps.ts'
import { WriteQueue } from './write-queue.ts'

/** What `onChange` listeners are told. */
type ChangeListener = (event: ComponentChange, c: ComponentInfo) => void

const BUILTIN_TTL_SEC = 10

/**
 * The controller's pure logic (wire-protocol.md §4–§6 and §8): registry, routing, sessions, ttl, locks, queue,
 * liveness. It does no I/O of its own: messages come in through `handleMessage`, go out through `output`, and time
 * comes from `clock`, so every rule is unit-testable with a fake clock. The steps of a message's way live in
 * `intake.ts`, `route-request.ts`, `session-steps.ts` and `delivery.ts`, functions of the shared {@link CoreState}.
 */
export class ControllerCore {
  readonly instance: string
  readonly mode: 'default' | 'sanji-compat'
  readonly #liveness: boolean
  readonly #localTopic: string | undefined
  readonly #clock: Clock
  readonly #st: CoreState
  readonly #ids: IdGenerator
  readonly #tunnelSource: () => string
  readonly #listeners = new Set<ChangeListener>()
  readonly #parse: { maxDepth?: number }

  constructor(output: ControllerOutput, options: ControllerCoreOptions = {}) {
    this.mode = options.mode ?? 'default'
    this.#liveness = options.liveness ?? true
    this.#localTopic = options.localId ? localControllerTopic(options.localId) : undefined
    const clock = options.clock ?? systemClock
    this.#clock = clock
    const log = (options.logger ?? silentLogger()).child({ component: 'controller' })
    this.instance = options.instance ?? randomBytes(8).toString('hex')
    this.#tunnelSource = options.tunnelSource ?? (() => String(randomInt(0, 2 ** 31)))
    this.#ids = new IdGenerator(options.idBase)
    this.#parse = options.jsonDepth === undefined ? {} : { maxDepth: options.jsonDepth }
    const observer = options.observer ?? {}
    const registry = new Registry()
    const st: CoreState = {
      mode: this.mode,
      clock,
      log,
      drops: new DropLog(log, { now: () => clock.now() }),
      registry,
      locks: new LockTable(),
      sessions: new Map(),
      queue: new WriteQueue(clock, observer, options.queueLimit ?? 1024, {
        route: (p, blockers) => routeRequest(st, p, true, blockers),
        refuse: (p, views) => {
          fail(st, p, { kind: 'locked' }, views ?? this.#viewsNow(p.resource))
        },
        closed: () => st.closed,
      }),
      outbox: new Outbox(output, clock, options.subscribeWaitMs ?? 2000),
      counters: new ComponentCounters(clock),
      stats: { requests: 0, events: 0, responses: 0, lateResponses: 0, dropped: 0 },
      observer,
      sessionLimit: options.sessionLimit ?? 1024,
      componentGuard: options.componentGuard,
      replyTunnelGuard: options.replyTunnelGuard,
      delayed: new Set(),
      eventListeners: new Set(),
      closed: false,
    }
    this.#st = st
    this.#addBuiltins(options)
  }

  /** [WP-22] the built-ins exist from start-up. */
  #addBuiltins(options: ControllerCoreOptions): void {
    const st = this.#st
    const damper = new RejectionDamper(
      this.#clock,
      options.rejectionIntervalMs ?? 1000,
      BUILTIN_TTL_SEC * 1000,
    )
    const registration = createRegistrationHandler({
      registry: st.registry,
      locks: st.locks,
      mode: this.mode,
      instance: this.instance,
      now: () => this.#clock.now(),
      newTunnel: () => this.#newTunnel(),
      reserved: options.reserved ?? [],
      changed: (event, c) => this.#changed(event, c),
      rejectionDelay: (name) => damper.delay(name),
      tracksSubscriptions: options.tracksSubscriptions ?? false,
      guard: options.registrationGuard,
      budget: new RegistrationBudget({ ...UNLIMITED, ...options.limits }, () => this.#clock.now()),
    })
    this.#addBuiltin('registration', [REGISTRATION_RESOURCE, `${REGISTRATION_RESOURCE}/+`], registration)
    this.#addBuiltin(
      'dependency',
      [DEPENDENCY_RESOURCE, `${DEPENDENCY_RESOURCE}/+`],
      createDependencyHandler(st.registry),
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
    this.#st.outbox.publish(PRESENCE_TOPIC, this.presenceMessage('online'))
  }

  /** One MQTT message for the controller: `/controller`, `/<localId>/controller` or a bundle presence topic. */
  handleMessage(topic: string, payload: Uint8Array | string, meta: MessageMeta = {}): void {
    const st = this.#st
    if (st.closed) return
    if (meta.retain) return // [WP-2] retained deliveries are ignored
    const presenceOf = presenceClientId(topic)
    if (presenceOf !== undefined) {
      this.#presence(presenceOf, payload)
      return
    }
    if (topic !== CONTROLLER_TOPIC && topic !== this.#localTopic) return
    const parsed = parsePayload(payload, this.#parse)
    if (parsed.ok) {
      takeMessage(st, topic, parsed, meta.clientId)
    } else if (parsed.reason === 'too-deep') {
      takeTooDeep(st, parsed, meta.clientId)
    } else {
      // [WP-2][WP-3] empty, non-JSON, non-object: dropped without reply.
      st.stats.dropped++
      st.log.debug({ topic, reason: parsed.reason }, 'message dropped')
    }
  }

  /** An MQTT client went away (embedded broker disconnect, or its will) [WP-42][WP-43]. */
  clientGone(clientId: string): void {
    const st = this.#st
    if (!this.#liveness || st.closed) return
    let any = false
    for (const c of st.registry.components()) {
      if (c.clientId === clientId && c.online) {
        c.online = false
        any = true
        st.log.info({ bundle: c.name, clientId }, 'bundle offline')
        this.#emit('offline', c)
      }
    }
    if (any) endOfflineSessions(st)
  }

  /**
   * The broker reports a subscription (embedded broker). A component that registered a moment ago is reachable only
   * from now on: messages held for its tunnel go out.
   */
  tunnelSubscribed(topic: string): void {
    const c = this.#st.registry.byTunnel(topic)
    if (!c || c.subscribed) return
    c.subscribed = true
    this.#st.log.debug(
      { bundle: c.name, tunnel: topic, afterMs: this.#clock.now() - c.registeredAt },
      'tunnel subscribed',
    )
    this.#st.outbox.release(topic)
  }

  /** The name of the component whose tunnel `topic` is, if any (the broker's ACL asks). */
  tunnelOwner(topic: string): string | undefined {
    return this.#st.registry.byTunnel(topic)?.name
  }

  /** Sends a request in-process, as the web service does: a plain request with a fresh id [WP-51]. */
  request(input: LocalRequest): Promise<Outcome> {
    const st = this.#st
    return new Promise((resolve) => {
      if (st.closed) {
        resolve(unavailable({ id: 0, method: input.method, resource: input.resource }))
        return
      }
      const id = this.#ids.next((n) => inFlight(st, n))
      const request: Envelope = { id, method: input.method, resource: input.resource }
      request.data = input.data === undefined ? {} : input.data
      if (input.caller) request.caller = { token: input.caller.token, scope: input.caller.scope } // [WP-60]
      if (input.requestId !== undefined) request.requestId = input.requestId
      st.stats.requests++
      const origin: Origin = { kind: 'local', resolve }
      if (!validRequest(st, request, undefined, origin)) return
      routeRequest(st, pendingOf(request, id, undefined, origin), false, st.queue.writes())
    })
  }

  /** Publishes an event in-process, exactly as if it had arrived on `/controller` [WP-38]. */
  event(message: Envelope): void {
    if (!this.#st.closed) takeEvent(this.#st, message)
  }

  /** A snapshot of every component (built-ins included). */
  components(): ComponentInfo[] {
    return [...this.#st.registry.components()].map((c) => this.#st.counters.info(c))
  }

  /**
   * Called with every valid event (§5.11), whether or not a view matches: the web service's push channel. The
   * message must not be changed. Returns an unsubscribe function.
   */
  onEvent(listener: (message: Envelope) => void): () => void {
    this.#st.eventListeners.add(listener)
    return () => this.#st.eventListeners.delete(listener)
  }

  /** Called with every registration, deregistration and offline transition. Returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  stats(): ControllerStats {
    const st = this.#st
    return { ...st.stats, sessions: st.sessions.size, queued: st.queue.length }
  }

  /** Stops every timer; in-process callers still waiting get 503. */
  close(): void {
    const st = this.#st
    if (st.closed) return
    st.closed = true
    for (const t of st.delayed) this.#clock.clearTimeout(t)
    st.delayed.clear()
    st.outbox.close()
    for (const p of st.queue.close()) {
      if (p.origin.kind === 'local') p.origin.resolve(unavailable(p))
    }
    for (const s of st.sessions.values()) {
      this.#clock.clearTimeout(s.timer)
      s.done = true
      const o = s.pending.origin
      if (o.kind === 'local') o.resolve(unavailable(s.pending))
    }
    st.sessions.clear()
  }

  #presence(clientId: string, payload: Uint8Array | string): void {
    const parsed = parsePayload(payload)
    if (!parsed.ok) return
    const msg = parsed.message
    if (msg.state === 'offline') this.clientGone(clientId)
    else if (msg.state === 'subscribed' && typeof msg.tunnel === 'string') {
      // Bundlegate only (docs/protocol.md, Choices): our SDK has its SUBACK for this tunnel. It counts only from the
      // client the component is bound to [WP-47].
      const c = this.#st.registry.byTunnel(msg.tunnel)
      if (c && c.clientId === clientId) this.tunnelSubscribed(msg.tunnel)
    }
  }

  #viewsNow(resource: string): Component[] {
    const registry = this.#st.registry
    return viewsOf(registry, registry.match(resource))
  }

  // ---------------------------------------------------------------- registry helpers

  /** An in-process model added by the gateway (the fleet's `/remote/+`): always online, never locks (§8.6). */
  addBuiltin(name: string, patterns: string[], handler: BuiltinHandler, ttlSec: number): void {
    this.#addBuiltin(name, patterns, handler, ttlSec)
  }

  #addBuiltin(name: string, patterns: string[], handler: BuiltinHandler, ttlSec = BUILTIN_TTL_SEC): void {
    this.#st.registry.add({
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
      if (!this.#st.registry.hasTunnel(t)) return t
    }
  }

  #changed(event: Exclude<ComponentChange, 'offline'>, c: Component): void {
    this.#st.log.info(
      { bundle: c.name, role: c.role, patterns: c.patterns, tunnel: c.tunnel, clientId: c.clientId },
      event === 'registered' ? 'component registered' : 'component deregistered',
    )
    this.#emit(event, c)
    if (this.#st.queue.length > 0) this.#st.queue.drain()
  }

  #emit(event: ComponentChange, c: Component): void {
    const counters = this.#st.counters
    if (event === 'registered') counters.reset(c.name)
    if (this.#listeners.size === 0) return
    const i = counters.info(c)
    for (const l of this.#listeners) l(event, i)
  }
}
