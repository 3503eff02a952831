import type { FastifyError, FastifyInstance } from 'fastify'
import { GatewayError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { errorReply, sendError, sendReply } from './http-error.ts'

/**
 * Every error the web service sends is JSON `{ message, code }` ([HA-12]); no stack traces unless `debug`.
 * Fastify's own errors (body parsing, limits) are mapped onto our table.
 */
export function installErrorHandlers(app: FastifyInstance, log: Logger, debug: boolean): void {
  app.setErrorHandler((err: FastifyError | GatewayError, request, reply) => {
    let r: { status: number; body: Record<string, unknown> }
    if (err instanceof GatewayError) {
      r = { status: err.statusCode, body: { message: err.message, code: err.code } }
    } else {
      switch (err.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          r = errorReply('GW_ERR_PAYLOAD_TOO_LARGE', [1_048_576])
          break
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          r = errorReply('GW_ERR_UNSUPPORTED_MEDIA_TYPE', [
            JSON.stringify(request.headers['content-type'] ?? 'none'),
          ])
          break
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        case 'FST_ERR_CTP_INVALID_JSON_BODY':
          r = errorReply('GW_ERR_BAD_REQUEST', [err.message])
          break
        default:
          if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
            r = errorReply('GW_ERR_BAD_REQUEST', [err.message])
          } else {
            log.error({ err, reqId: request.id, method: request.method, url: request.url }, 'request failed')
            r = errorReply('GW_ERR_INTERNAL')
          }
      }
    }
    if (debug && err.stack) r.body.stack = err.stack
    return sendReply(reply, r)
  })
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'GW_ERR_NOT_FOUND', [request.method, request.url.split('?')[0]]),
  )
}
