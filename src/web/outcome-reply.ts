import type { Outcome } from '../controller/index.ts'
import { CONTROLLER_SIGN, isObject, type Json, MAX_PAYLOAD_BYTES, resourceName } from '../protocol/index.ts'
import { type ErrorBody, errorReply, type HttpReply } from './http-error.ts'

export type { HttpReply } from './http-error.ts'

/**
 * Maps a controller outcome to HTTP (wire-protocol.md §8.5) [WP-48][WP-49][WP-50]: model answers pass through
 * (status = code, body = data), the controller's typed failures become our error bodies. The one place a failure
 * becomes HTTP; the controller's wire text (`outcome.message`) is never read here.
 */
export function outcomeReply(outcome: Outcome, resource: string, debug: boolean): HttpReply {
  switch (outcome.kind) {
    case 'answer':
      return modelReply(outcome.code, outcome.data, outcome.sign, debug)
    case 'timeout':
      return errorReply('GW_ERR_BUNDLE_TIMEOUT', [outcome.bundle ?? 'unknown', outcome.ttlMs])
    case 'offline':
      return errorReply('GW_ERR_BUNDLE_OFFLINE', [outcome.bundle])
    case 'not-found':
      return errorReply('GW_ERR_ROUTE_NOT_FOUND', [resourceName(resource)])
    case 'no-model':
      return errorReply('GW_ERR_ROUTE_NO_MODEL', [], { log: 'resource has no subscribed model' })
    case 'locked':
      return errorReply('GW_ERR_RESOURCE_LOCKED')
    case 'too-large':
      return errorReply('GW_ERR_PAYLOAD_TOO_LARGE', [MAX_PAYLOAD_BYTES])
    case 'too-deep':
      return errorReply('GW_ERR_JSON_TOO_DEEP', [outcome.depth, outcome.limit])
    case 'bad-request':
      return errorReply('GW_ERR_BAD_REQUEST', [outcome.reason])
    case 'unavailable':
      // [WP-59] §8.9: the in-flight bound is not a stop; the caller may try again at once
      return outcome.cause === 'busy'
        ? errorReply('GW_ERR_UNAVAILABLE', [
            `too many requests in flight (at most ${outcome.limit}): try again`,
          ])
        : errorReply('GW_ERR_UNAVAILABLE', ['the gateway is stopping'])
    case 'id-used':
    case 'internal':
      return errorReply('GW_ERR_INTERNAL')
  }
}

/**
 * §7: a remote gateway's answer is nested in the bundle's data (`{code, data}`); a model answer that is not a
 * failure is unwrapped, anything else answers as it is.
 */
export function remoteReply(outcome: Outcome, r: HttpReply, debug: boolean): HttpReply {
  if (outcome.kind !== 'answer' || r.status >= 400) return r
  const inner = outcome.data
  if (!isObject(inner) || typeof inner.code !== 'number') return r
  return modelReply(inner.code, inner.data ?? {}, outcome.sign, debug)
}

/** The bundle an outcome is about: the one named by a timeout or an offline answer, else the one that signed it. */
export function answeredBy(outcome: Outcome): string | undefined {
  if ((outcome.kind === 'timeout' || outcome.kind === 'offline') && outcome.bundle !== undefined)
    return outcome.bundle
  if (outcome.kind !== 'answer') return CONTROLLER_SIGN // every failure is the controller's message
  const sign = outcome.sign
  const last = Array.isArray(sign) ? sign[sign.length - 1] : undefined
  return typeof last === 'string' ? last : undefined
}

/** A model's answer: 200–599 pass through; error bodies are always objects with `message` and `code`. */
export function modelReply(
  code: Json | undefined,
  data: Json | undefined,
  sign: Json | undefined,
  debug: boolean,
): HttpReply {
  if (typeof code !== 'number' || !Number.isInteger(code) || code < 200 || code > 599) {
    const last = Array.isArray(sign) ? sign[sign.length - 1] : undefined
    return errorReply('GW_ERR_BUNDLE_BAD_RESPONSE', [
      typeof last === 'string' ? last : 'unknown',
      String(code),
    ])
  }
  if (code === 204) return { status: 204, body: undefined }
  if (code < 400) return { status: code, body: data ?? {} }
  let body: ErrorBody
  if (isObject(data)) {
    body = { ...(data as Record<string, unknown>) } as ErrorBody
    if (typeof body.message !== 'string') body.message = 'bundle error'
  } else if (typeof data === 'string') {
    body = { message: data } as ErrorBody
  } else {
    body = { message: 'bundle error', data } as unknown as ErrorBody
  }
  if (!debug) {
    // [WP-50] no stack traces (the Python SDK sends `traceback` by default)
    delete body.traceback
    delete body.stack
  }
  body.code ??= 'GW_ERR_BUNDLE_ERROR'
  return { status: code, body }
}
