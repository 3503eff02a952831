import type { DropLog } from '../drop-log.ts'
import type { Logger } from '../logger.ts'
import type { Envelope } from '../protocol/index.ts'
import type { Clock } from './clock.ts'
import type { ComponentCounters } from './component-counters.ts'
import type { LockTable } from './locks.ts'
import type { ControllerObserver } from './observer.ts'
import type { Outbox } from './outbox.ts'
import type { Registry } from './registry.ts'
import type { Session } from './session.ts'
import type { WriteQueue } from './write-queue.ts'

/**
 * What the controller's steps share (the way aedes hands its broker to every packet handler): the registry, the
 * sessions, the queue, the outbox, the counters and the policies. `ControllerCore` owns it; the step modules
 * (`intake.ts`, `route-request.ts`, `session-steps.ts`, `delivery.ts`) are functions of it.
 */
export interface CoreState {
  readonly mode: 'default' | 'sanji-compat'
  readonly clock: Clock
  readonly log: Logger
  /** Counted, rate-limited log lines for dropped input. */
  readonly drops: DropLog
  readonly registry: Registry
  readonly locks: LockTable
  readonly sessions: Map<number, Session>
  readonly queue: WriteQueue
  readonly outbox: Outbox
  readonly counters: ComponentCounters
  readonly stats: {
    requests: number
    events: number
    responses: number
    lateResponses: number
    dropped: number
  }
  readonly observer: ControllerObserver
  /** Requests in flight at most, built-ins not counted (§8.9). */
  readonly sessionLimit: number
  readonly componentGuard: ((name: string, clientId: string) => boolean) | undefined
  readonly replyTunnelGuard: ((tunnel: string, clientId: string) => boolean) | undefined
  /** Timers of damped built-in replies. */
  readonly delayed: Set<unknown>
  readonly eventListeners: Set<(message: Envelope) => void>
  closed: boolean
}

/** Whether request `id` is in flight: routed or queued (§8.8). */
export function inFlight(st: CoreState, id: number): boolean {
  return st.sessions.has(id) || st.queue.has(id)
}
