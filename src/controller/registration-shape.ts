/**
 * Bounds on what one registration may carry besides its patterns (wire-protocol.md §8.9), found by the red-team
 * pass of issue 12: a 1 MB `description` copied into every operation of openapi.json took the gateway's heap; 40,000
 * hook names per component blocked the event loop in the hook-cycle check; a `hook` on the built-in `registration`
 * put a bundle in the middle of every other bundle's registration; a ttl past Node's timer range expired at once.
 * @module
 */
import type { Json, JsonObject } from '../protocol/index.ts'

/** The `description` of a registration, in characters. */
export const MAX_DESCRIPTION_CHARS = 1024
/** The whole `data` of a registration, as JSON (a bundle.json is a few KB). */
export const MAX_REGISTRATION_BYTES = 65_536
/** Hook names per component. */
export const MAX_HOOKS = 16
/** A ttl above this is used as this (a request held a day is no request; Node's timers overflow at 2^31 ms). */
export const MAX_TTL_SEC = 86_400

/** Why a registration's size, description or hooks are refused, or undefined. */
export function shapeRefusal(data: JsonObject): string | undefined {
  const description = data.description
  if (typeof description === 'string' && description.length > MAX_DESCRIPTION_CHARS)
    return `'description' is ${description.length} characters, over the limit of ${MAX_DESCRIPTION_CHARS}`
  const bytes = Buffer.byteLength(JSON.stringify(data))
  if (bytes > MAX_REGISTRATION_BYTES)
    return `the registration's data is ${bytes} bytes, over the limit of ${MAX_REGISTRATION_BYTES}`
  const hook = data.hook as Json | undefined
  if (Array.isArray(hook) && hook.length > MAX_HOOKS)
    return `${hook.length} hooks, over the limit of ${MAX_HOOKS}`
  return undefined
}

/**
 * Why a component may not hook `target`, or undefined: never a built-in of the controller (it would see and answer
 * every registration), and with broker authentication only components of the same user (`mayOwn` says whether the
 * registering client could register that name itself).
 */
export function hookRefusal(
  target: string,
  isBuiltin: (name: string) => boolean,
  mayOwn: (name: string) => boolean,
): string | undefined {
  if (isBuiltin(target)) return `a hook on the controller's built-in '${target}' is not allowed`
  if (!mayOwn(target)) return `a hook on '${target}', a component of another user, is not allowed`
  return undefined
}

/** The ttl used for a registration's `ttl` (already truncated): at most {@link MAX_TTL_SEC}. */
export function boundedTtl(ttlSec: number): number {
  return Math.min(ttlSec, MAX_TTL_SEC)
}
