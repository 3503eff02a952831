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
