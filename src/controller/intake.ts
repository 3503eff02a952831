import {
  classifyController,
  directTunnel,
  type Envelope,
  MAX_PAYLOAD_BYTES,
  MAX_RESOURCE_CHARS,
  messageId,
  type ParseResult,
  tooDeepAnswer,
  WIRE_TEXT,
} from '../protocol/index.ts'
import { viewsOf } from './chain.ts'
import type { CoreState } from './core-state.ts'
import { reject, rejectRaw } from './delivery.ts'
import { routeRequest } from './route-request.ts'
import { type Origin, pendingOf } from './session.ts'
import { takeResponse } from './session-steps.ts'

/**
 * 1–2. Intake and classification of a parsed message from `/controller` (docs/architecture.md, "A request's
 * life"): an oversize request is answered 413 [WP-59]; the rest goes to the event, response or request path.
 */
export function takeMessage(
  st: CoreState,
  topic: string,
  parsed: Extract<ParseResult, { ok: true }>,
  clientId: string | undefined,
): void {
  const msg = parsed.message
  const kind = classifyController(msg)
  if (kind === 'REQUEST' && foreignReplyTunnel(st, msg, clientId)) return
  if (parsed.oversize) {
    // [WP-59] answered only when it is a request we can answer.
    st.stats.dropped++
    st.log.warn({ topic, kind }, WIRE_TEXT.payloadTooLargeLog)
    if (kind === 'REQUEST') {
      rejectRaw(st, msg, { kind: 'too-large', limitBytes: MAX_PAYLOAD_BYTES })
    }
    return
  }
  if (kind === 'EVENT') takeEvent(st, msg)
  else if (kind === 'RESPONSE') takeResponse(st, msg, clientId)
  else takeRequest(st, msg, clientId)
}

/** §8.9: nested over the budget, never parsed; a request is answered 400 from its shallow head, like the 413. */
export function takeTooDeep(
  st: CoreState,
  p: Extract<ParseResult, { reason: 'too-deep' }>,
  clientId: string | undefined,
): void {
  const head = p.head
  const kind = head ? classifyController(head) : undefined
  if (head && kind === 'REQUEST' && foreignReplyTunnel(st, head, clientId)) return
  st.stats.dropped++
  st.drops.drop('message dropped: nested deeper than the JSON depth limit', {
    kind,
    depth: p.depth,
    limit: p.limit,
    clientId,
  })
  if (head && kind === 'REQUEST') rejectRaw(st, head, { kind: 'too-deep', depth: p.depth, limit: p.limit })
  // a model's answer that cannot be taken ends its request at once (502) instead of holding it for the ttl
  if (head && kind === 'RESPONSE')
    takeResponse(st, { ...head, code: 502, data: tooDeepAnswer(p.depth, p.limit) }, clientId)
}

/**
 * With the guards of broker authentication: a request whose reply tunnel is a component tunnel the sender may not
 * use, or a reply tunnel another user holds.
 */
function foreignReplyTunnel(st: CoreState, msg: Envelope, clientId: string | undefined): boolean {
  if (clientId === undefined) return false
  const tunnel = directTunnel(msg)
  if (tunnel === undefined) return false
  const owner = st.registry.byTunnel(tunnel)
  const guard = st.componentGuard
  if (owner && guard && !guard(owner.name, clientId)) {
    st.stats.dropped++
    st.log.warn(
      { id: msg.id, clientId, tunnel, bundle: owner.name },
      "request dropped: its reply tunnel is another component's",
    )
    return true
  }
  const replyGuard = st.replyTunnelGuard
  if (owner || !replyGuard || replyGuard(tunnel, clientId)) return false
  st.stats.dropped++
  st.log.warn({ id: msg.id, clientId, tunnel }, "request dropped: its reply tunnel is another user's")
  return true
}

/** 3. A request from MQTT: validated, its `caller` stripped [WP-60], then routed. */
function takeRequest(st: CoreState, msg: Envelope, clientId: string | undefined): void {
  st.stats.requests++
  const origin: Origin = { kind: 'mqtt', clientId }
  const tunnel = directTunnel(msg)
  if (!validRequest(st, msg, tunnel, origin)) return
  delete msg.caller // [WP-60] only the gateway vouches for a caller
  routeRequest(st, pendingOf(msg, messageId(msg) as number, tunnel, origin), false, st.queue.writes())
}

/** 3. §8.9: resource then method; a rejection is answered whenever there is a tunnel (or views) [WP-59]. */
export function validRequest(
  st: CoreState,
  msg: Envelope,
  tunnel: string | undefined,
  origin: Origin,
): boolean {
  const bad = (reason: string) => {
    reject(st, msg, tunnel, origin, { kind: 'bad-request', reason })
    return false
  }
  if (typeof msg.resource !== 'string' || msg.resource.length === 0) return bad("need 'resource'")
  if (msg.resource.length > MAX_RESOURCE_CHARS) return bad("'resource' exceeds 1023 characters")
  if (typeof msg.method !== 'string' || msg.method.length === 0) return bad("need 'method'")
  return true
}

/** An event [WP-38]: to the listeners and, unchanged, to every matching online view, never a model. */
export function takeEvent(st: CoreState, msg: Envelope): void {
  // §5.11: needs a string method and a non-empty resource; never answered.
  if (typeof msg.method !== 'string' || typeof msg.resource !== 'string' || msg.resource.length === 0) {
    st.stats.dropped++
    return
  }
  st.stats.events++
  delete msg.caller
  for (const l of st.eventListeners) l(msg)
  const views = viewsOf(st.registry, st.registry.match(msg.resource))
  if (views.length === 0) return
  const payload = JSON.stringify(msg) // [WP-38] unchanged, to every matching view, never a model
  for (const v of views) if (v.online) st.outbox.publishTo(v, payload)
}
