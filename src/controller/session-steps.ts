import { controllerMessage, type Envelope, messageId, requestIdOf } from '../protocol/index.ts'
import type { BuiltinAnswer, Component } from './component.ts'
import type { CoreState } from './core-state.ts'
import { deliver } from './delivery.ts'
import { failureMessage } from './failure-message.ts'
import { finalAnswer, hookMessage } from './merge.ts'
import { type Answer, answerOf, type Failure } from './outcome.ts'
import type { Session } from './session.ts'

/** Publishes `message` to every model of step `k` and arms the step ttl (§5.4, §5.8). */
export function startStep(st: CoreState, s: Session, k: number, message: Envelope): void {
  const step = s.chain.steps[k] as Component[]
  if (k > 0) {
    const off = step.find((c) => !c.online)
    if (off) {
      finishFailure(st, s, { kind: 'offline', bundle: off.name })
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
  st.clock.clearTimeout(s.timer)
  s.timer = st.clock.setTimeout(() => expire(st, s), s.stepTtlMs)
  let payload: string
  try {
    payload = JSON.stringify(message)
  } catch (err) {
    // only an in-process caller can hand over a value that does not serialise (MQTT and HTTP input is bounded)
    finishFailure(st, s, { kind: 'internal', reason: (err as Error).message })
    return
  }
  for (const c of step) st.outbox.publishTo(c, payload)
  for (const c of step) {
    if (s.done) return
    if (c.builtin) runBuiltin(st, c, s, message)
  }
}

/** A built-in answers in-process; a damped rejection's reply waits (§8.2) [WP-41]. */
function runBuiltin(st: CoreState, c: Component, s: Session, message: Envelope): void {
  const clientId = s.pending.origin.kind === 'mqtt' ? s.pending.origin.clientId : undefined
  const answer = (c.builtin as NonNullable<Component['builtin']>)(message, { clientId })
  if (answer instanceof Promise) {
    // an asynchronous built-in (the fleet's `/remote/+`, src/fleet): answers when it settles, the ttl still holds
    void answer.then(
      (a) => builtinReply(st, s, a),
      () => builtinReply(st, s, { code: 500 }),
    )
    return
  }
  builtinReply(st, s, answer)
}

function builtinReply(st: CoreState, s: Session, answer: BuiltinAnswer): void {
  const reply = controllerMessage({
    id: s.pending.id,
    code: answer.code,
    method: s.pending.method,
    resource: s.pending.resource,
    data: answer.data,
  })
  if (answer.delayMs === Number.POSITIVE_INFINITY) {
    // damping backlog beyond the built-in ttl: no timer; the session's ttl answers (408), as for any late answer
    st.stats.dropped++
  } else if (answer.delayMs && answer.delayMs > 0) {
    const t = st.clock.setTimeout(() => {
      st.delayed.delete(t)
      takeResponse(st, reply)
    }, answer.delayMs)
    st.delayed.add(t)
  } else {
    takeResponse(st, reply)
  }
}

/** [WP-34] The step's ttl ran out: 408, charged to the first model that did not answer. */
function expire(st: CoreState, s: Session): void {
  if (s.done) return
  const step = s.chain.steps[s.step] as Component[]
  const late = step.find((c) => !s.answered.has(c.name)) ?? step[0]
  const requestId = requestIdOf(s.pending.request) // over MQTT it is anybody's input: only a valid id is logged
  st.log.debug(
    { id: s.pending.id, resource: s.pending.resource, bundle: late?.name, requestId },
    'session ttl expired',
  )
  st.observer.expired?.(late?.name)
  const failure: Failure = { kind: 'timeout', ttlMs: s.stepTtlMs }
  if (late) failure.bundle = late.name
  finishFailure(st, s, failure)
}

/** Ends a session with a model's answer, delivered unchanged. */
function finishAnswer(st: CoreState, s: Session, message: Envelope): void {
  finish(st, s, message, answerOf(message))
}

/** Ends a session with a failure, rendered as the controller's wire message. */
export function finishFailure(st: CoreState, s: Session, failure: Failure): void {
  if (!s.done) finish(st, s, failureMessage(s.pending, failure), failure)
}

/** Ends a session: counted, delivered [WP-33], its locks released and the queue drained. */
function finish(st: CoreState, s: Session, message: Envelope, end: Answer | Failure): void {
  if (s.done) return
  s.done = true
  st.clock.clearTimeout(s.timer)
  st.sessions.delete(s.pending.id)
  st.counters.count(s, message)
  deliver(st, s.pending, message, s.chain.views, end) // [WP-33]
  if (s.lock) {
    st.locks.release(s.lock)
    st.queue.drain()
  }
}

/** A model's (or a built-in's) answer: merged into its session; an error ends it at once [WP-30]. */
export function takeResponse(st: CoreState, msg: Envelope, clientId?: string): void {
  st.stats.responses++
  const s = st.sessions.get(messageId(msg) as number)
  if (!s || s.done) {
    // [WP-7][WP-35] unknown or finished session: dropped silently.
    st.stats.lateResponses++
    st.log.debug({ id: msg.id }, 'response without session dropped')
    return
  }
  const guard = st.componentGuard
  if (guard && clientId !== undefined && !s.chain.steps[s.step]?.some((c) => guard(c.name, clientId))) {
    // broker authentication: only a client acting for an awaited component may answer
    st.stats.dropped++
    st.log.warn({ id: msg.id, clientId }, 'response dropped: not from a component the request waits for')
    return
  }
  s.results.push(msg)
  const sign = Array.isArray(msg.sign) ? msg.sign[msg.sign.length - 1] : undefined
  if (typeof sign === 'string') s.answered.add(sign)
  if (msg.code !== 200) {
    finishAnswer(st, s, msg) // [WP-30] ends at once, delivered unchanged
    return
  }
  s.awaiting--
  if (s.awaiting > 0) return
  if (s.step + 1 < s.chain.steps.length) startStep(st, s, s.step + 1, hookMessage(s.results))
  else finishAnswer(st, s, finalAnswer(s.results))
}

/** [WP-42] Models went offline: every session waiting for one of them ends 503 at once. */
export function endOfflineSessions(st: CoreState): void {
  for (const s of [...st.sessions.values()]) {
    if (s.done) continue
    const off = s.chain.steps[s.step]?.find((c) => !c.online && !s.answered.has(c.name))
    if (off) finishFailure(st, s, { kind: 'offline', bundle: off.name })
  }
}
