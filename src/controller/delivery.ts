import {
  controllerMessage,
  directTunnel,
  type Envelope,
  type Json,
  MAX_RESOURCE_CHARS,
  messageId,
  offlineText,
  WIRE_TEXT,
} from '../protocol/index.ts'
import { viewsOf } from './chain.ts'
import type { Component } from './component.ts'
import type { CoreState } from './core-state.ts'
import type { Outcome, OutcomeKind } from './outcome.ts'
import type { Origin, Pending } from './session.ts'

/** §5.6: a direct request's answer goes only to its tunnel; a plain one's to every online view; in-process too. */
export function deliver(
  st: CoreState,
  p: Pending,
  message: Envelope,
  views: readonly Component[],
  outcome: Omit<Outcome, 'message'>,
): void {
  if (p.origin.kind === 'local') p.origin.resolve({ ...outcome, message })
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

/** A controller error for a pending request, delivered like an answer. */
export function fail(
  st: CoreState,
  p: Pending,
  code: number,
  data: Json | undefined,
  views: readonly Component[],
  outcome: Omit<Outcome, 'message'>,
): void {
  const msg = controllerMessage({ id: p.id, code, method: p.method, resource: p.resource, data })
  deliver(st, p, msg, views, outcome)
}

/** A rejection before a pending request exists (validation, 413): to the tunnel, else the views (§5.7, §8.9). */
export function reject(
  st: CoreState,
  msg: Envelope,
  tunnel: string | undefined,
  origin: Origin,
  code: number,
  data: Json,
  kind: OutcomeKind,
): void {
  const id = messageId(msg) ?? 0
  const method = typeof msg.method === 'string' ? msg.method : ''
  const resource = typeof msg.resource === 'string' ? msg.resource : ''
  const reply = controllerMessage({ id, code, method, resource, data })
  const views =
    resource.length > 0 && resource.length <= MAX_RESOURCE_CHARS
      ? viewsOf(st.registry, st.registry.match(resource))
      : []
  const p: Pending = { id, request: msg, method, resource, tunnel, origin, write: false }
  deliver(st, p, reply, views, { kind })
}

/** A rejection of a raw MQTT message (too deep, too large): answered to its reply tunnel only. */
export function rejectRaw(st: CoreState, msg: Envelope, code: number, data: Json, kind: OutcomeKind): void {
  reject(st, msg, directTunnel(msg), { kind: 'mqtt', clientId: undefined }, code, data, kind)
}

/** [WP-42] The 503 for a request whose model `name` is offline. */
export function offlineMessage(p: Pending, name: string): Envelope {
  const data = { message: offlineText(name) }
  return controllerMessage({ id: p.id, code: 503, method: p.method, resource: p.resource, data })
}

/** What an in-process caller gets while the controller stops. */
export function unavailable(id: number, method: string, resource: string): Outcome {
  const data = { message: WIRE_TEXT.serviceUnavailable, log: WIRE_TEXT.controllerStopping }
  return { kind: 'unavailable', message: controllerMessage({ id, code: 503, method, resource, data }) }
}
