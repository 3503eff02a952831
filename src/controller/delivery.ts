import { directTunnel, type Envelope, MAX_RESOURCE_CHARS, messageId } from '../protocol/index.ts'
import { viewsOf } from './chain.ts'
import type { Component } from './component.ts'
import type { CoreState } from './core-state.ts'
import { failureMessage, type MessageHead } from './failure-message.ts'
import type { Answer, Failure, Outcome } from './outcome.ts'
import type { Origin, Pending } from './session.ts'

/**
 * §5.6: a direct request's answer goes only to its tunnel; a plain one's to every online view; an in-process caller
 * gets the typed end with it.
 */
export function deliver(
  st: CoreState,
  p: Pending,
  message: Envelope,
  views: readonly Component[],
  end: Answer | Failure,
): void {
  if (p.origin.kind === 'local') p.origin.resolve({ ...end, message })
  if (p.tunnel !== undefined) {
    st.outbox.publish(p.tunnel, JSON.stringify(message))
    return
  }
  let payload: string | undefined
  for (const v of views) {
    if (!v.online || v.tunnel === undefined) continue
    payload ??= JSON.stringify(message)
    st.outbox.publishTo(v, payload)
  }
}

/** A controller failure for a pending request, rendered as wire text and delivered like an answer. */
export function fail(st: CoreState, p: Pending, failure: Failure, views: readonly Component[]): void {
  deliver(st, p, failureMessage(p, failure), views, failure)
}

/** A rejection before a pending request exists (validation, 413): to the tunnel, else the views (§5.7, §8.9). */
export function reject(
  st: CoreState,
  msg: Envelope,
  tunnel: string | undefined,
  origin: Origin,
  failure: Failure,
): void {
  const id = messageId(msg) ?? 0
  const method = typeof msg.method === 'string' ? msg.method : ''
  const resource = typeof msg.resource === 'string' ? msg.resource : ''
  const views =
    resource.length > 0 && resource.length <= MAX_RESOURCE_CHARS
      ? viewsOf(st.registry, st.registry.match(resource))
      : []
  const p: Pending = { id, request: msg, method, resource, tunnel, origin, write: false }
  fail(st, p, failure, views)
}

/** A rejection of a raw MQTT message (too deep, too large): answered to its reply tunnel only. */
export function rejectRaw(st: CoreState, msg: Envelope, failure: Failure): void {
  reject(st, msg, directTunnel(msg), { kind: 'mqtt', clientId: undefined }, failure)
}

/** What an in-process caller gets while the controller stops. */
export function unavailable(head: MessageHead): Outcome {
  const failure: Failure = { kind: 'unavailable', cause: 'stopping' }
  return { ...failure, message: failureMessage(head, failure) }
}
