import type { Envelope, JsonObject } from '../protocol/index.ts'

/**
 * What `onChange` listeners are told about a component: it registered, deregistered, or its MQTT connection went
 * away (§8.3). The one declaration of these states; the push channel's `/bundles/<name>` events add `online`.
 */
export type ComponentChange = 'registered' | 'deregistered' | 'offline'

/** A built-in component answers in-process instead of through a tunnel (registration, dependency). */
export type BuiltinHandler = (
  request: Envelope,
  context: { clientId: string | undefined },
) => BuiltinAnswer | Promise<BuiltinAnswer>

/** What a built-in answers: `code`, optional `data`, and how long to hold the reply back (rejection damping). */
export interface BuiltinAnswer {
  code: number
  data?: JsonObject
  /** Hold the reply back this long (rejection damping); infinity: never answer, the session ttl does. */
  delayMs?: number
}

/** One registration held by the controller (wire-protocol.md §1, "component"). */
export interface Component {
  readonly name: string
  /** `model` and `view` take part in routing; other roles are stored and never routed. */
  readonly role: string
  readonly description: string
  /** Seconds, truncated to an integer [WP-16]. */
  readonly ttlSec: number
  /** Names of the components this one runs after, on writes. */
  readonly hooks: readonly string[]
  /** Registered patterns in the order given, de-duplicated. */
  readonly patterns: readonly string[]
  /** Component tunnel; undefined for built-ins. */
  readonly tunnel: string | undefined
  readonly builtin: BuiltinHandler | undefined
  /** The MQTT client the successful POST came from (§8.3); undefined = always online. */
  readonly clientId: string | undefined
  online: boolean
  /**
   * False from registration until the broker reports a subscription to the tunnel (embedded broker only):
   * messages for it wait instead of being published to nobody.
   */
  subscribed: boolean
  readonly registeredAt: number
  /** The registration data as received (keys we ignore included), for listings. */
  readonly data: JsonObject
}

/** A read-only view of a component for listings. */
export interface ComponentInfo {
  name: string
  role: string
  description: string
  ttlSec: number
  hooks: string[]
  patterns: string[]
  tunnel: string | undefined
  builtin: boolean
  clientId: string | undefined
  online: boolean
  registeredAt: number
  data: JsonObject
  /** Requests routed to this component (as a model, first step or hook) since it registered, and how they ended. */
  stats: ComponentStats
}

/** Per-component request counters, for listings and the console. */
export interface ComponentStats {
  requests: number
  /** Requests whose final answer had a code of 400 or more. */
  errors: number
  /** The most recent of those. */
  lastError: { at: number; code: number; message: string } | undefined
}
