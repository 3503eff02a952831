import { buildChain, type Chain, viewsOf } from './chain.ts'
import type { Component } from './component.ts'
import { type CoreState, inFlight } from './core-state.ts'
import { fail } from './delivery.ts'
import { type LockSet, lockSetOf, meets } from './locks.ts'
import type { Pending, Session } from './session.ts'
import { startStep } from './session-steps.ts'
import type { RouteResult } from './write-queue.ts'

/**
 * Routes a valid request (docs/architecture.md, "A request's life", steps 4–9; wire-protocol.md §8.12). Each step
 * either answers (and the request ends), queues it, or hands over to the next.
 */
export function routeRequest(
  st: CoreState,
  p: Pending,
  fromQueue: boolean,
  blockers: readonly LockSet[],
): RouteResult {
  const matched = st.registry.match(p.resource) // 4. match
  if (matched.length === 0) return refuseNotFound(st, p)
  const views = () => viewsOf(st.registry, matched)
  if (!fromQueue && inFlight(st, p.id)) return refuseUsedId(st, p, views()) // 5. id in flight
  const chain = buildChain(st.registry, matched, p.write) // 6. the chain
  const route: Route = {
    p,
    matched,
    chain,
    builtin: chain.steps[0]?.some((c) => c.builtin !== undefined) ?? false,
  }
  const locked = meetLocks(st, route, fromQueue, blockers, views) // 7. locks
  if (locked) return locked
  const unreachable = refuseUnreachable(st, route) // 8. no model, offline, too many in flight
  if (unreachable) return unreachable
  return startSession(st, route) // 9. publish, ttl, merge, hooks, deliver
}

/** A request on its way: what it matched and the chain built from that. */
interface Route {
  p: Pending
  matched: string[]
  chain: Chain
  /** Step 1 holds a built-in (registration, dependency). */
  builtin: boolean
}

/** 4. [WP-26] No pattern matches: 404 without data; a plain request has no view to get it. */
function refuseNotFound(st: CoreState, p: Pending): RouteResult {
  fail(st, p, { kind: 'not-found' }, [])
  return 'answered'
}

/** 5. [WP-27] The id is in flight already: 403. */
function refuseUsedId(st: CoreState, p: Pending, views: readonly Component[]): RouteResult {
  fail(st, p, { kind: 'id-used' }, views)
  return 'answered'
}

/**
 * 7. A write locks the patterns and models of its chain; a request meeting a lock (or an earlier queued write) waits
 * in the queue, or is refused 423 at once in sanji-compat mode [WP-53]. [WP-54] in default mode, registration and
 * deregistration never meet locks.
 */
function meetLocks(
  st: CoreState,
  r: Route,
  fromQueue: boolean,
  blockers: readonly LockSet[],
  views: () => Component[],
): RouteResult | undefined {
  if (r.builtin && st.mode === 'default') return undefined
  const chainModels = r.chain.steps.flat()
  const blocked =
    st.locks.meets(r.matched, chainModels) || blockers.some((b) => meets(b, r.matched, chainModels))
  if (!blocked) return undefined
  if (st.mode === 'sanji-compat') {
    fail(st, r.p, { kind: 'locked' }, views()) // [WP-53]
    return 'answered'
  }
  r.p.lockSet = r.p.write ? lockSetOf(r.chain) : undefined
  if (!fromQueue) return st.queue.enqueue(r.p, r.chain.steps[0] as Component[], views)
  return 'queued'
}

/** 8. No model: 403 [WP-28]; an offline model: 503 at once [WP-42]; over the in-flight bound: 503 (§8.9). */
function refuseUnreachable(st: CoreState, r: Route): RouteResult | undefined {
  const { p, chain } = r
  const step1 = chain.steps[0] as Component[]
  if (step1.length === 0) {
    fail(st, p, { kind: 'no-model' }, chain.views) // [WP-28]
    return 'answered'
  }
  if (r.builtin && step1.some((c) => !c.online)) {
    // A dead bundle whose pattern also matches the built-ins (a model on `/#`) must not block every registration:
    // the built-in answers, the offline models are left out of this request.
    chain.steps[0] = step1.filter((c) => c.online)
    chain.steps.length = 1
  }
  const offline = (chain.steps[0] as Component[]).find((c) => !c.online)
  if (offline) {
    // [WP-42] an offline model answers 503 at once.
    fail(st, p, { kind: 'offline', bundle: offline.name }, chain.views)
    return 'answered'
  }
  if (!r.builtin && st.sessions.size >= st.sessionLimit) {
    // §8.9: a never-answering model held memory
    fail(st, p, { kind: 'unavailable', cause: 'busy', limit: st.sessionLimit }, chain.views)
    return 'answered'
  }
  return undefined
}

/** 9. A session: the write's locks taken [WP-36], step 1 published with its ttl armed. */
function startSession(st: CoreState, r: Route): RouteResult {
  const { p, chain } = r
  const lock = p.write && !(r.builtin && st.mode === 'default') ? lockSetOf(chain) : undefined
  const session: Session = {
    pending: p,
    chain,
    step: 0,
    awaiting: 0,
    answered: new Set(),
    results: [],
    lock,
    timer: undefined,
    stepTtlMs: 0,
    done: false,
  }
  st.sessions.set(p.id, session)
  if (lock) st.locks.take(lock) // [WP-36]
  startStep(st, session, 0, p.request)
  return 'started'
}
