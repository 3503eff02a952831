import type { Outcome } from '../controller/index.ts'
import { isObject, type Json, resourceName } from '../protocol/index.ts'
import { type ErrorBody, errorReply } from './http-error.ts'

/** What the web service answers for a controller outcome. `body` undefined means no body (204). */
export interface HttpReply {
  status: number
  body: unknown
}

/**
 * Maps a controller outcome to HTTP (wire-protocol.md §8.5) [WP-48][WP-49][WP-50]: model answers pass through
 * (status = code, body = data), controller errors become our error bodies.
 */
export function outcomeReply(outcome: Outcome, resource: string, debug: boolean): HttpReply {
  const msg = outcome.message
  switch (outcome.kind) {
    case 'answer':
      return modelReply(msg.code, msg.data, msg.sign, debug)
    case 'timeout':
      return errorReply('GW_ERR_BUNDLE_TIMEOUT', [outcome.bundle ?? 'unknown', outcome.ttlMs ?? 0])
    case 'offline':
      return errorReply('GW_ERR_BUNDLE_OFFLINE', [outcome.bundle ?? 'unknown'])
    case 'not-found':
      return errorReply('GW_ERR_ROUTE_NOT_FOUND', [resourceName(resource)])
    case 'no-model':
      return errorReply('GW_ERR_ROUTE_NO_MODEL', [], { log: 'resource has no subscribed model' })
    case 'locked':
      return errorReply('GW_ERR_RESOURCE_LOCKED')
    case 'too-large':
      return errorReply('GW_ERR_PAYLOAD_TOO_LARGE', [1_048_576])
    case 'bad-request': {
      const data = msg.data as { log?: string } | undefined
      return errorReply('GW_ERR_BAD_REQUEST', [data?.log ?? 'malformed request'])
    }
    case 'unavailable':
      return errorReply('GW_ERR_UNAVAILABLE', ['the gateway is stopping'])
    default:
      return errorReply('GW_ERR_INTERNAL')
  }
}

/** A model's answer: 200–599 pass through; error bodies are always objects with `message` and `code`. */
export function modelReply(
  code: Json | undefined,
  data: Json | undefined,
  sign: Json | undefined,
  debug: boolean,
) {
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
