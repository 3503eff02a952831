import type { Aedes, AedesPublishPacket, Client } from 'aedes'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { ControllerCore, ControllerObserver, OutcomeKind } from '../controller/index.ts'
import { BundleWindows } from './bundle-window.ts'
import { FastCounter, FastHistogram } from './fast-series.ts'
import { LabelCap, OTHER } from './label-cap.ts'
import { PatternResolver } from './pattern-resolver.ts'

/** Distinct (bundle, resource pattern) pairs, and bundles, that get their own series; the rest is `other`. */
export const DEFAULT_LABEL_LIMIT = 200

/** Latency buckets (seconds): 1 ms to 60 s, the longest ttl a bundle usually has. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** What the push channel shows the metrics. */
export interface PushStats {
  readonly clients: number
  readonly dropped: number
}

/** Options of {@link GatewayMetrics}. */
export interface GatewayMetricsOptions {
  /** @default DEFAULT_LABEL_LIMIT */
  labelLimit?: number
  /** Node process metrics (prom-client's default metrics) on this registry. @default true */
  processMetrics?: boolean
  /** The clock of the console overview. @default Date.now */
  now?: () => number
}

/** One finished bundle call, as the resource route reports it. */
export interface BundleCall {
  resource: string
  method: string
  outcome: OutcomeKind
  /** The HTTP status answered. */
  status: number
  seconds: number
}

/**
 * The gateway's metrics (docs/observability.md): one prom-client registry per gateway (never the global default:
 * tests run many gateways in one process). On the request path only counters are incremented and histograms observed;
 * what other areas already count (controller stats, broker clients, push clients) is read when scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly windows: BundleWindows
  readonly resolver = new PatternResolver()
  readonly #pairs: LabelCap
  readonly #bundles: LabelCap
  readonly #http: FastCounter
  readonly #httpDuration: FastHistogram
  readonly #calls: FastCounter
  readonly #callDuration: FastHistogram
  readonly #checks = { ok: 0, refused: 0, token: 0, address: 0 }
  readonly #expiries: Counter<'bundle'>
  readonly #queueWait: Histogram
  readonly #broker = { connects: 0, disconnects: 0, in: 0, out: 0, bytesIn: 0, bytesOut: 0 }
  #aedes: Aedes | undefined
  #core: ControllerCore | undefined
  #push: PushStats | undefined
  readonly #unbind: Array<() => void> = []

  constructor(options: GatewayMetricsOptions = {}) {
    const limit = options.labelLimit ?? DEFAULT_LABEL_LIMIT
    this.#pairs = new LabelCap(limit)
    this.#bundles = new LabelCap(limit)
    this.windows = new BundleWindows(options.now)
    const registers = [this.registry]
    // the four metrics of every request: FastCounter/FastHistogram (a join and a map lookup, see fast-series.ts)
    this.#http = new FastCounter(
      'bundlegate_http_requests_total',
      'HTTP requests answered, by route class (the route template, never the raw path), method and status.',
      ['route', 'method', 'status'],
      this.registry,
    )
    this.#httpDuration = new FastHistogram(
      'bundlegate_http_request_duration_seconds',
      'Time from the request to its answer, by route class and method.',
      ['route', 'method'],
      LATENCY_BUCKETS,
      this.registry,
    )
    this.#calls = new FastCounter(
      'bundlegate_bundle_calls_total',
      'Calls of bundle resources through the web service, by bundle, resource pattern, method, outcome and status.',
      ['bundle', 'resource', 'method', 'outcome', 'code'],
      this.registry,
    )
    this.#callDuration = new FastHistogram(
      'bundlegate_bundle_call_duration_seconds',
      'Latency of bundle calls through the web service, by bundle, resource pattern and method.',
      ['bundle', 'resource', 'method'],
      LATENCY_BUCKETS,
      this.registry,
    )
    // Counted in plain numbers on the request path, handed to prom-client when scraped: its labelled inc() costs
    // tens of µs per call, and the token check runs on every request.
    const checks = this.#checks
    new Counter({
      name: 'bundlegate_token_checks_total',
      help: 'Credentials checked on protected routes: ok, or refused (unknown, expired, revoked, malformed, missing).',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset()
        this.inc({ result: 'ok' }, checks.ok)
        this.inc({ result: 'refused' }, checks.refused)
      },
    })
    new Counter({
      name: 'bundlegate_rate_limited_total',
      help: 'Requests refused 429 by a rate limit: per token, or per client address (failed authentications).',
      labelNames: ['limit'],
      registers,
      collect() {
        this.reset()
        this.inc({ limit: 'token' }, checks.token)
        this.inc({ limit: 'address' }, checks.address)
      },
    })
    this.#expiries = new Counter({
      name: 'bundlegate_controller_ttl_expiries_total',
      help: 'Session steps whose ttl expired before every model answered (408), by the late bundle.',
      labelNames: ['bundle'],
      registers,
    })
    this.#queueWait = new Histogram({
      name: 'bundlegate_controller_queue_wait_seconds',
      help: 'Time requests spent queued behind locked resources before they were routed or refused.',
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    })
    this.#pollMetrics()
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry })
  }

  /** What the controller reports (ttl expiries, queue waits); passed in its options. */
  readonly observer: ControllerObserver = {
    expired: (bundle) => this.#expiries.inc({ bundle: this.#bundles.admit(bundle ?? 'none') }),
    dequeued: (waitMs) => this.#queueWait.observe(waitMs / 1000),
  }

  /** Reads the controller's counters when scraped; follows its registry for resource patterns. */
  bindController(core: ControllerCore): void {
    this.#core = core
    this.resolver.refresh(core.components())
    this.#unbind.push(core.onChange(() => this.resolver.refresh(core.components())))
  }

  /** Counts the embedded broker's clients, messages and payload bytes (aedes events; a counter each, no labels). */
  bindBroker(aedes: Aedes): void {
    this.#aedes = aedes
    const b = this.#broker
    const onClient = () => b.connects++
    const onGone = () => b.disconnects++
    const onPublish = (packet: AedesPublishPacket, client: Client | null) => {
      if (!client) return // the broker's own ($SYS) and the in-process controller's publishes
      b.in++
      b.bytesIn += packet.payload.length
    }
    aedes.on('client', onClient)
    aedes.on('clientDisconnect', onGone)
    aedes.on('publish', onPublish)
    // every delivery to a subscriber passes authorizeForward: count it there, keeping any handler installed before
    const previous = aedes.authorizeForward
    aedes.authorizeForward = (client, packet) => {
      const out = previous ? previous.call(aedes, client, packet) : packet
      if (out) {
        b.out++
        b.bytesOut += out.payload.length
      }
      return out
    }
    this.#unbind.push(() => {
      aedes.off('client', onClient)
      aedes.off('clientDisconnect', onGone)
      aedes.off('publish', onPublish)
    })
  }

  /** Reads the push channel's clients and drops when scraped. */
  bindPush(push: PushStats): void {
    this.#push = push
  }

  /** One answered HTTP request: `route` is the route template (bounded), never the URL. */
  httpRequest(route: string, method: string, status: number, seconds: number): void {
    const code = status < 100 || status > 599 ? 'other' : String(status)
    this.#http.add([route, method, code])
    this.#httpDuration.observe([route, method], seconds)
  }

  /** One bundle call; returns the bundle it was charged to (for the access log). */
  bundleCall(call: BundleCall): string {
    const r = this.resolver.resolve(call.resource)
    const pair = this.#pairs.admit(`${r.bundle}\u0000${r.pattern}`)
    const bundle = pair === OTHER ? OTHER : r.bundle
    const resource = pair === OTHER ? OTHER : r.pattern
    const method = call.method
    this.#calls.add([bundle, resource, method, call.outcome, String(call.status)])
    this.#callDuration.observe([bundle, resource, method], call.seconds)
    const windowBundle = this.#bundles.admit(r.bundle)
    this.windows.record(windowBundle, call.seconds * 1000, call.status >= 500)
    return r.bundle
  }

  tokenCheck(ok: boolean): void {
    if (ok) this.#checks.ok++
    else this.#checks.refused++
  }

  rateLimited(limit: 'token' | 'address'): void {
    this.#checks[limit]++
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** Stops following the controller and the broker. */
  close(): void {
    for (const u of this.#unbind.splice(0)) u()
  }

  /** Metrics whose value another area keeps: read when scraped (collect), nothing on the request path. */
  #pollMetrics(): void {
    const registers = [this.registry]
    const stat = (name: string, help: string, read: () => number | undefined, counter: boolean) => {
      const collect = function (this: Counter | Gauge) {
        const v = read()
        this.reset()
        if (v !== undefined) this instanceof Gauge ? this.set(v) : (this as Counter).inc(v)
      }
      if (counter) new Counter({ name, help, registers, collect })
      else new Gauge({ name, help, registers, collect })
    }
    const core = () => this.#core?.stats()
    stat(
      'bundlegate_controller_sessions_in_flight',
      'Sessions the controller is running now.',
      () => core()?.sessions,
      false,
    )
    stat(
      'bundlegate_controller_queue_depth',
      'Requests queued behind locked resources now (§8.6).',
      () => core()?.queued,
      false,
    )
    stat(
      'bundlegate_controller_requests_total',
      'Requests the controller received (MQTT and web service).',
      () => core()?.requests,
      true,
    )
    stat(
      'bundlegate_controller_responses_total',
      'Bundle responses the controller received.',
      () => core()?.responses,
      true,
    )
    stat(
      'bundlegate_controller_late_responses_total',
      'Responses for no running session (late or unknown id), dropped.',
      () => core()?.lateResponses,
      true,
    )
    stat(
      'bundlegate_controller_dropped_messages_total',
      'Messages the controller dropped (malformed, oversize, refused by the ACL).',
      () => core()?.dropped,
      true,
    )
    stat('bundlegate_controller_events_total', 'Events the controller routed.', () => core()?.events, true)
    const b = this.#broker
    const broker = (v: () => number) => () => (this.#aedes ? v() : undefined)
    stat(
      'bundlegate_broker_clients',
      'MQTT clients connected to the embedded broker now.',
      broker(() => this.#aedes?.connectedClients ?? 0),
      false,
    )
    stat(
      'bundlegate_broker_connections_total',
      'MQTT clients that connected to the embedded broker.',
      broker(() => b.connects),
      true,
    )
    stat(
      'bundlegate_broker_disconnections_total',
      'MQTT clients that disconnected (or were cut off).',
      broker(() => b.disconnects),
      true,
    )
    stat(
      'bundlegate_broker_messages_received_total',
      'PUBLISH packets the embedded broker received from clients.',
      broker(() => b.in),
      true,
    )
    stat(
      'bundlegate_broker_messages_sent_total',
      'Messages the embedded broker delivered to subscribers.',
      broker(() => b.out),
      true,
    )
    stat(
      'bundlegate_broker_received_bytes_total',
      'Payload bytes of the PUBLISH packets received from clients.',
      broker(() => b.bytesIn),
      true,
    )
    stat(
      'bundlegate_broker_sent_bytes_total',
      'Payload bytes of the messages delivered to subscribers.',
      broker(() => b.bytesOut),
      true,
    )
    stat(
      'bundlegate_push_clients',
      'SSE and WebSocket clients of the push channel now.',
      () => this.#push?.clients,
      false,
    )
    stat(
      'bundlegate_push_clients_dropped_total',
      'Push clients dropped (slow consumer, no pong).',
      () => this.#push?.dropped,
      true,
    )
    stat(
      'bundlegate_metrics_label_overflow_total',
      'Label sets refused by the cardinality cap and counted under "other".',
      () => this.#pairs.overflow + this.#bundles.overflow,
      true,
    )
    const bundles = () => this.#core?.components().filter((c) => !c.builtin)
    new Gauge({
      name: 'bundlegate_bundles',
      help: 'Registered bundles (built-ins excluded), by state.',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset()
        const list = bundles()
        if (!list) return
        let online = 0
        for (const c of list) if (c.online) online++
        this.set({ state: 'online' }, online)
        this.set({ state: 'offline' }, list.length - online)
      },
    })
  }
}
