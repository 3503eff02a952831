import type { Logger } from '../logger.ts'
import type { Caller, Json } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import type { ControllerObserver } from './observer.ts'
import type { RegistrationGuard, ReservedPattern } from './registration.ts'
import type { RegistrationLimits } from './registration-limits.ts'

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
