import { type Envelope, isWrite } from '../protocol/index.ts'
import type { Chain } from './chain.ts'
import type { LockSet } from './locks.ts'
import type { Outcome } from './outcome.ts'

/** Who sent a request: an MQTT client, or an in-process caller waiting for its outcome. */
export type Origin =
  | { kind: 'mqtt'; clientId: string | undefined }
  | { kind: 'local'; resolve: (o: Outcome) => void }

/** A valid request, before and while it is routed. */
export interface Pending {
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

/** A routed request: its chain, the step it is at, the answers so far (§5.4, §8.12 step 9). */
export interface Session {
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

/** The pending form of a request that passed validation (resource and method are non-empty strings). */
export function pendingOf(
  request: Envelope,
  id: number,
  tunnel: string | undefined,
  origin: Origin,
): Pending {
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
