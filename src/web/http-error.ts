import type { FastifyReply } from 'fastify'
import { createError, type ErrorCallArgs, type ErrorCode, type GatewayError } from '../errors.ts'

/** The JSON body of every error the web service sends: a message for a person and a stable code ([HA-12]). */
export interface ErrorBody {
  message: string
  code: string
  [key: string]: unknown
}

/** Status and body of an error from the table; `args` as the code's template takes them (`createError`). */
export function errorReply<C extends ErrorCode>(code: C, ...rest: ErrorCallArgs<C, Record<string, unknown>>) {
  const [args, extra = {}] = rest as [(readonly unknown[])?, Record<string, unknown>?]
  // the count was checked against `code` by this function's own signature
  const err = (createError as (code: ErrorCode, args?: readonly unknown[]) => GatewayError)(code, args)
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

/** Sends the error `code` of the table ([HA-12] `{message, code}`), with `headers`; `args` as its template takes them. */
export function sendError<C extends ErrorCode>(
  reply: FastifyReply,
  code: C,
  ...rest: ErrorCallArgs<C, Record<string, string | number>>
): FastifyReply {
  const [args, headers = {}] = rest as [(readonly unknown[])?, Record<string, string | number>?]
  const send = errorReply as (code: ErrorCode, args?: readonly unknown[]) => ReturnType<typeof errorReply>
  return sendReply(reply, send(code, args), headers)
}
