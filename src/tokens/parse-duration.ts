/**
 * Durations as the CLI takes them (`bundlegate token create --expires 30d`).
 * @module
 */

import { createError } from '../errors.ts'

const UNIT_SEC = { d: 86_400, h: 3_600, m: 60, s: 1 } as const
const DURATION = /^(\d+)([dhms]?)$/

/**
 * Parses `30d`, `12h`, `15m`, `45s` or a bare number of seconds (`3600`) into a positive whole number of seconds.
 * @param text the duration as typed.
 * @param name how the value is named in the error message. @default '--expires'
 * @throws GW_ERR_TOKEN_INVALID for anything else, e.g. "Expected `--expires` to be a duration like 30d, 12h, 15m or
 *   3600, got `soon`".
 * @example parseDuration('30d') // 2_592_000
 */
export function parseDuration(text: string, name = '--expires'): number {
  const match = typeof text === 'string' ? DURATION.exec(text) : null
  const seconds =
    match === null ? Number.NaN : Number(match[1]) * UNIT_SEC[(match[2] || 's') as keyof typeof UNIT_SEC]
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    const shown = typeof text === 'string' ? `\`${text}\`` : `\`${String(text)}\` (${typeof text})`
    const why = match !== null ? ' (it must be more than 0 and fit in a safe integer)' : ''
    throw createError('GW_ERR_TOKEN_INVALID', [
      `Expected \`${name}\` to be a duration like 30d, 12h, 15m or 3600, got ${shown}${why}`,
    ])
  }
  return seconds
}
