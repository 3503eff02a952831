import type { FastifyReply } from 'fastify'
import { createError, type ErrorCode } from '../errors.ts'

/** The JSON body of every error the web service sends: a message for a person and a stable code ([HA-12]). */
export interface ErrorBody {
  message: string
  code: string
  [key: string]: unknown
}

/** Status and body of an error from the table. */
export function errorReply(
  code: ErrorCode,
  args: readonly unknown[] = [],
  extra: Record<string, unknown> = {},
) {
  const err = createError(code, args)
  return { status: err.statusCode, body: { message: err.message, ...extra, code } as ErrorBody }
}

/** What the web service answers: a status and a body; `body` undefined means no body (204, 304). */
export interface HttpReply {
  status: number
  body: unknown
}

/** Sends `r`, with `headers` (e.g. `retry-after`, `connection: close`). The one way a route answers a reply value. */
export function sendReply(
  reply: FastifyReply,
  r: HttpReply,
  headers: Record<string, string | number> = {},
): FastifyReply {
  void reply.code(r.status)
  for (const [name, value] of Object.entries(headers)) void reply.header(name, value)
  return r.body === undefined ? reply.send() : reply.send(r.body)
}

/** Sends the error `code` of the table ([HA-12] `{message, code}`), with `headers`. */
export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  args: readonly unknown[] = [],
  headers: Record<string, string | number> = {},
): FastifyReply {
  return sendReply(reply, errorReply(code, args), headers)
}
