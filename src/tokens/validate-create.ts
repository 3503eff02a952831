/**
 * The checks of {@link TokenStore.create}'s options, with messages that say what was expected and what came.
 * @module
 */
import { describeValue } from '../describe-value.ts'
import { createError, type GatewayError } from '../errors.ts'
import { type CreateTokenOptions, MAX_EXPIRES_IN_SEC, type TokenScope } from './token-types.ts'

const DESCRIPTION_MAX = 200

/** The checked fields of a new token (the description trimmed). */
export interface Fields {
  description: string
  scope: TokenScope
  expiresInSec: number | undefined
  root: boolean
}

/** Checks the options of a new token; GW_ERR_TOKEN_INVALID names the first wrong field. */
export function validateCreate(options: CreateTokenOptions): Fields {
  if (typeof options !== 'object' || options === null)
    throw invalid(`Expected the token options to be an object, got ${describe(options)}`)
  const { description, scope, expiresInSec, root = false } = options
  if (typeof root !== 'boolean') throw invalid(`Expected \`root\` to be a boolean, got ${describe(root)}`)
  if (typeof description !== 'string')
    throw invalid(
      `Expected \`description\` to be a string of 1 to ${DESCRIPTION_MAX} characters, got ${describe(description)}`,
    )
  const trimmed = description.trim()
  if (trimmed.length === 0 || trimmed.length > DESCRIPTION_MAX)
    throw invalid(
      `Expected \`description\` to be a string of 1 to ${DESCRIPTION_MAX} characters once trimmed, got ` +
        `${describe(description)} of ${trimmed.length} characters once trimmed`,
    )
  const scopes: readonly TokenScope[] = root ? ['read', 'readwrite', 'admin'] : ['read', 'readwrite']
  if (!scopes.includes(scope)) {
    const expected = root ? 'read, readwrite or admin' : 'read or readwrite'
    const hint = scope === 'admin' ? ' (admin belongs to the root token only)' : ''
    throw invalid(`Expected \`scope\` to be ${expected}, got ${describe(scope)}${hint}`)
  }
  if (
    expiresInSec !== undefined &&
    !(Number.isSafeInteger(expiresInSec) && expiresInSec > 0 && expiresInSec <= MAX_EXPIRES_IN_SEC)
  )
    throw invalid(
      `Expected \`expiresInSec\` to be a positive integer of at most ${MAX_EXPIRES_IN_SEC} (seconds), got ${describe(expiresInSec)}`,
    )
  return { description: trimmed, scope, expiresInSec, root }
}

function invalid(message: string): GatewayError {
  return createError('GW_ERR_TOKEN_INVALID', [message])
}

/** "`-1` (number)", "`admin` (string)", "nothing" — how a wrong value is shown in messages. */
function describe(value: unknown): string {
  return describeValue(value, { strings: 'raw' })
}
