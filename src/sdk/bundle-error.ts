import type { Json } from '../protocol/index.ts'

/**
 * Throw it from a handler to answer with a given code: `throw new BundleError(404, 'no such interface')` answers
 * `404 {"message": "no such interface"}`; extra `data` keys are merged into the answer.
 */
export class BundleError extends Error {
  readonly code: number
  readonly data: Record<string, Json> | undefined

  constructor(code: number, message: string, data?: Record<string, Json>) {
    super(message)
    this.name = 'BundleError'
    if (!Number.isInteger(code) || code < 100 || code > 599) {
      throw new TypeError(
        `Expected \`code\` to be an integer from 100 to 599, got \`${code}\` (${typeof code})`,
      )
    }
    this.code = code
    this.data = data
  }
}
