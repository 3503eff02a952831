import {
  conflictText,
  type Envelope,
  isObject,
  type Json,
  type JsonObject,
  REGISTRATION_RESOURCE,
  resourceName,
  WIRE_TEXT,
} from '../protocol/index.ts'
import type { BuiltinAnswer, Component, ComponentChange } from './component.ts'
import { findHookCycle } from './hook-cycle.ts'
import type { LockTable } from './locks.ts'
import { firstRefusal } from './pattern-rules.ts'
import type { RegistrationBudget } from './registration-limits.ts'
import { boundedTtl, hookRefusal, shapeRefusal } from './registration-shape.ts'
import type { Registry } from './registry.ts'

/** A pattern the gateway serves itself; no bundle may register it or anything below it (http-api.md [HA-11]). */
export interface ReservedPattern {
  /** e.g. `/tokens`: the exact pattern and everything below it (`/tokens/...`) is refused. */
  prefix: string
  owner: string
}

/** What the registration built-in needs from the controller. */
export interface RegistrationContext {
  registry: Registry
  locks: LockTable
  mode: 'default' | 'sanji-compat'
  instance: string
  now(): number
  newTunnel(): string
  reserved: readonly ReservedPattern[]
  /** Called after a component was added or removed. */
  changed(event: Exclude<ComponentChange, 'offline'>, component: Component): void
  /** True when the broker reports subscriptions (embedded): new components wait for theirs. */
  tracksSubscriptions: boolean
  /** The delay to apply to a rejected POST reply for `name` (§8.2 damping) [WP-41]. */
  rejectionDelay(name: string): number
  /** Broker authentication: why this MQTT client may not use `name` (answered 403), or undefined when it may. */
  guard?: RegistrationGuard | undefined
  /** Components and patterns per client and in total, POSTs per client (§8.9). */
  budget: RegistrationBudget
}

/** Who may register or deregister which name (docs/security.md): a refusal message, or `undefined`. */
export type RegistrationGuard = (
  name: string,
  clientId: string | undefined,
  verb: 'register' | 'deregister',
) => string | undefined

const NAME_RULE = /^[A-Za-z0-9-]{1,64}$/
const WRONG = WIRE_TEXT.wrongRegister

function bad(log: string): BuiltinAnswer {
  return { code: 400, data: { message: WRONG, log } }
}

/** The name segment after `/controller/registration/`, if there is one [WP-14]. */
function pathName(resource: string): string | undefined {
  const name = resourceName(resource)
  const prefix = `${REGISTRATION_RESOURCE}/`
  return name.startsWith(prefix) && name.length > prefix.length ? name.slice(prefix.length) : undefined
}

function nonEmptyString(v: Json | undefined): v is string {
  return typeof v === 'string' && v.length > 0
}

/**
 * The `registration` built-in (wire-protocol.md §4): POST creates, DELETE removes, other verbs answer 405 [WP-19].
 * The returned answer becomes the controller's reply; rejected POSTs carry a damping delay.
 */
export function createRegistrationHandler(ctx: RegistrationContext) {
  return (request: Envelope, caller: { clientId: string | undefined }): BuiltinAnswer => {
    const method = String(request.method).toLowerCase()
    const resource = request.resource as string
    if (method === 'post') return post(ctx, request, resource, caller.clientId)
    if (method === 'delete') return del(ctx, request, resource, caller.clientId)
    return { code: 405, data: { message: WIRE_TEXT.methodNotAllowed } }
  }
}

/** A registration that passed the checks of its own fields, before it meets the registry. */
interface Draft {
  name: string
  role: string
  description: string
  hooks: string[]
  ttlSec: number
  patterns: string[]
  /** Whose budget it counts against. */
  key: string
  data: JsonObject
}

/** [WP-41] A rejected POST's reply, held back by the damping delay of its name (§8.2). */
function damper(ctx: RegistrationContext) {
  return (answer: BuiltinAnswer, name: string): BuiltinAnswer => {
    const delayMs = ctx.rejectionDelay(name)
    return delayMs > 0 ? { ...answer, delayMs } : answer
  }
}

function post(ctx: RegistrationContext, request: Envelope, resource: string, publisher: string | undefined) {
  const damp = damper(ctx)
  const draft = readDraft(ctx, request, resource, publisher, damp)
  if (!('key' in draft)) return draft
  const refusal = placementRefusal(ctx, draft, damp)
  if (refusal) return refusal
  return addComponent(ctx, draft, publisher)
}

type Damp = (answer: BuiltinAnswer, name: string) => BuiltinAnswer

/** The checks of the registration's own fields, in the order of [WP-15]: data, name, description, role, hook, ttl, resources. */
function readDraft(
  ctx: RegistrationContext,
  request: Envelope,
  resource: string,
  publisher: string | undefined,
  damp: Damp,
): Draft | BuiltinAnswer {
  const data = request.data
  if (!isObject(data)) return damp(bad("Need 'data'"), pathName(resource) ?? '')
  const name = pathName(resource) ?? (nonEmptyString(data.name) ? data.name : undefined)
  if (name === undefined) return damp(bad("no 'name'"), '')
  if (!NAME_RULE.test(name)) return damp(bad("invalid 'name'"), name) // [WP-23]
  const refusal = ctx.guard?.(name, publisher, 'register')
  if (refusal !== undefined) return damp({ code: 403, data: { message: refusal } }, name)
  const key = clientKey(publisher, data, request)
  const limited = ctx.budget.takePost(key) // §8.9: POSTs per client
  if (limited) return damp(limited, name)
  if (!nonEmptyString(data.description)) return damp(bad("need 'description'"), name)
  if (!nonEmptyString(data.role)) return damp(bad("need 'role'"), name)
  const hooks = readHooks(ctx, data, publisher)
  if (typeof hooks === 'string') return damp(bad(hooks), name)
  // [WP-16] a JSON number, truncated; a string is refused.
  if (typeof data.ttl !== 'number' || !Number.isFinite(data.ttl)) return damp(bad("need 'ttl'"), name)
  const ttlSec = boundedTtl(Math.trunc(data.ttl)) // §8.9: at most a day
  const patterns = readPatterns(data.resources)
  if (typeof patterns === 'string') return damp(bad(patterns), name)
  const ruleBroken = firstRefusal(patterns, data.role) // §8.2a [WP-62]; the length text of §8.9 included
  if (ruleBroken) return damp(bad(ruleBroken.log), name)
  const description = data.description
  return { name, role: data.role, description, hooks, ttlSec, patterns, key, data }
}

/** `hook`: a string or a list of non-empty strings [WP-17]; then the size rules of §8.9. A string is the refusal. */
function readHooks(
  ctx: RegistrationContext,
  data: JsonObject,
  publisher: string | undefined,
): string[] | string {
  let hooks: string[] = []
  if (typeof data.hook === 'string') {
    if (data.hook.length === 0) return "empty 'hook'"
    hooks = [data.hook] // [WP-17]
  } else if (Array.isArray(data.hook)) {
    if (!data.hook.every(nonEmptyString)) return "empty 'hook'"
    hooks = [...new Set(data.hook as string[])]
  }
  const tooBig = shapeRefusal(data) // §8.9: description, size, hook count
  if (tooBig) return tooBig
  for (const h of hooks) {
    const why = hookRefusal(
      h,
      (n) => ctx.registry.get(n)?.builtin !== undefined,
      (n) => ctx.guard?.(n, publisher, 'register') === undefined,
    )
    if (why) return why
  }
  return hooks
}

/** `resources`: a string or a non-empty list of non-empty strings [WP-17]. A string is the refusal. */
function readPatterns(res: Json | undefined): string[] | string {
  if (res === undefined) return "Need 'resources'"
  if (typeof res === 'string') {
    if (res.length === 0) return "empty 'resources'"
    return [res] // [WP-17]
  }
  if (Array.isArray(res)) {
    if (res.length === 0 || !res.every(nonEmptyString)) return "empty 'resources'"
    return [...new Set(res as string[])]
  }
  return "Need 'resources'" // §8.9: the original answered 500
}

/** Whether the registry can take the draft: locks, the name, the budget, reserved and held patterns, hook cycles. */
function placementRefusal(ctx: RegistrationContext, d: Draft, damp: Damp): BuiltinAnswer | undefined {
  const { name, role, patterns } = d
  if (ctx.mode === 'sanji-compat' && patterns.some((p) => ctx.locks.patternLocked(p))) {
    return { code: 423, data: { message: WIRE_TEXT.registrationLocked } }
  }
  if (ctx.registry.has(name)) return damp({ code: 403, data: { message: WIRE_TEXT.alreadyRegistered } }, name) // [WP-18]
  const over = ctx.budget.refusal(d.key, patterns.length) // §8.9 [WP-63]
  if (over) return damp(over, name)
  if (role === 'model' || role === 'view') {
    for (const p of patterns) {
      const owner = reservedOwner(ctx.reserved, p)
      if (owner !== undefined) return damp(conflict(p, owner), name)
    }
  }
  if (ctx.mode === 'default' && role === 'model') {
    for (const p of patterns) {
      const owner = ctx.registry.modelHolding(p)
      if (owner) return damp(conflict(p, owner.name), name) // [WP-39]
    }
  }
  const cycle = findHookCycle(ctx.registry, { name, role, hooks: d.hooks }) // [WP-55]
  if (cycle) return damp(bad(`hook cycle: ${cycle.join(' -> ')}`), name)
  return undefined
}

/** The registration succeeds: a new component with a fresh tunnel [WP-11][WP-45]. */
function addComponent(ctx: RegistrationContext, d: Draft, publisher: string | undefined): BuiltinAnswer {
  const clientId = publisher ?? (nonEmptyString(d.data.clientId) ? d.data.clientId : undefined)
  const component: Component = {
    name: d.name,
    role: d.role,
    description: d.description,
    ttlSec: d.ttlSec,
    hooks: d.hooks,
    patterns: d.patterns,
    tunnel: ctx.newTunnel(),
    builtin: undefined,
    clientId,
    online: true,
    subscribed: !ctx.tracksSubscriptions,
    registeredAt: ctx.now(),
    data: d.data,
  }
  ctx.registry.add(component)
  ctx.budget.added(d.name, d.key, d.patterns.length)
  ctx.changed('registered', component)
  return { code: 200, data: { tunnel: component.tunnel as string, instance: ctx.instance } } // [WP-11][WP-45]
}

/**
 * Whose budget a registration counts against: the publishing MQTT client (embedded broker), else what the
 * registration says of itself (`data.clientId`, its reply tunnel), else the gateway's in-process caller.
 */
function clientKey(publisher: string | undefined, data: JsonObject, request: Envelope): string {
  if (publisher !== undefined) return `client:${publisher}`
  if (nonEmptyString(data.clientId)) return `client:${data.clientId}`
  if (nonEmptyString(request.tunnel)) return `tunnel:${request.tunnel}`
  return 'local'
}

function conflict(pattern: string, owner: string): BuiltinAnswer {
  return { code: 409, data: { message: conflictText(pattern, owner) } }
}

function reservedOwner(reserved: readonly ReservedPattern[], pattern: string): string | undefined {
  for (const r of reserved) {
    if (pattern === r.prefix || pattern.startsWith(`${r.prefix}/`)) return r.owner
  }
  return undefined
}

function del(
  ctx: RegistrationContext,
  request: Envelope,
  resource: string,
  publisher: string | undefined,
): BuiltinAnswer {
  const data = request.data
  const name = pathName(resource) ?? (isObject(data) && nonEmptyString(data.name) ? data.name : undefined)
  if (name === undefined) return bad("no 'name'") // [WP-13]
  const refusal = ctx.guard?.(name, publisher, 'deregister')
  if (refusal !== undefined) return { code: 403, data: { message: refusal } }
  const component = ctx.registry.get(name)
  if (!component) return { code: 200 } // [WP-12] DELETE is idempotent
  if (component.builtin) return { code: 403, data: { message: WIRE_TEXT.builtinNotRemovable } }
  if (
    ctx.mode === 'sanji-compat' &&
    (ctx.locks.modelLocked(name) || component.patterns.some((p) => ctx.locks.patternLocked(p)))
  ) {
    return { code: 423, data: { message: WIRE_TEXT.deregistrationLocked } }
  }
  ctx.registry.remove(name)
  ctx.budget.removed(name)
  ctx.changed('deregistered', component)
  return { code: 200 } // [WP-20]
}
