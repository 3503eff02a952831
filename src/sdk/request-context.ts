import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The request a handler is serving, across its awaits (docs/observability.md): the publisher reads it to carry the
 * request id on the bundle's own outgoing requests, so one id follows a call from HTTP through every bundle it touches.
 */
const current = new AsyncLocalStorage<string>()

/** Runs `fn` as part of the request `requestId` (undefined: no request id, `fn` runs as is). */
export function withRequestId<T>(requestId: string | undefined, fn: () => T): T {
  return requestId === undefined ? fn() : current.run(requestId, fn)
}

/** The request id of the handler this code runs in, if any. */
export function currentRequestId(): string | undefined {
  return current.getStore()
}
