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
