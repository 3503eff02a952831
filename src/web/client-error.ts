import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from '../logger.ts'
import { errorReply } from './http-error.ts'
import { API_CSP } from './security-headers.ts'

/** What Node's HTTP parser reports, and the pieces of its socket this handler looks at. */
type ParserError = Error & { code?: string; bytesParsed?: number }
type ClientSocket = Socket & { _httpMessage?: { headersSent?: boolean } | null }

/** The status and body of a parser error: the documented `{message, code}` ([HA-12]). */
export function clientErrorReply(err: ParserError, maxHeaderBytes: number) {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errorReply('GW_ERR_HTTP_TIMEOUT', [
        'the configured time (http.headersTimeoutMs, requestTimeoutMs)',
      ])
    case 'HPE_HEADER_OVERFLOW':
      return errorReply('GW_ERR_HTTP_HEADERS_TOO_LARGE', [maxHeaderBytes])
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return errorReply('GW_ERR_HTTP_CONTENT_TOO_LARGE', ['chunk extensions'])
    default:
      return errorReply('GW_ERR_HTTP_BAD_REQUEST', [err.code ?? 'unknown parser error'])
  }
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (malformed requests 400, oversized headers 431,
 * header and request timeouts 408, oversized chunk extensions 413) is answered with JSON `{message, code}` and the
 * security headers, then the connection is closed. Nothing is written when the socket is gone or an answer has
 * begun on it already.
 */
export function clientErrorHandler(log: Logger, maxHeaderBytes: number) {
  return (err: ParserError, socket: ClientSocket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    log.debug({ code: err.code, bytesParsed: err.bytesParsed }, 'HTTP parser refused a request')
    if (!socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy()
      return
    }
    const r = clientErrorReply(err, maxHeaderBytes)
    const body = JSON.stringify(r.body)
    socket.end(
      `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status]}\r\n` +
        'content-type: application/json; charset=utf-8\r\n' +
        `content-length: ${Buffer.byteLength(body)}\r\n` +
        'x-content-type-options: nosniff\r\n' +
        `content-security-policy: ${API_CSP}\r\n` +
        'cache-control: no-store\r\n' +
        `connection: close\r\n\r\n${body}`,
    )
    // a client that reads nothing must not hold the socket open
    setTimeout(() => socket.destroy(), 1000).unref()
  }
}
