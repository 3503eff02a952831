/**
 * How a wrong value is shown in error messages ("Expected `x` to be …, got `-1` (number)"), the one copy every
 * area uses (tokens, the SDK's manifest and config store).
 * @module
 */

/** Options of {@link describeValue}. */
export interface DescribeOptions {
  /**
   * How a string shows: `json` quoted as JSON ("`\"x\"` (string)"), `raw` as itself ("`x` (string)").
   * @default 'json'
   */
  strings?: 'json' | 'raw'
}

/**
 * "`-1` (number)", "`\"x\"` (string)", "`[1,2]` (array)", "`null` (null)", "nothing" (undefined): the value as JSON
 * (or `String(value)` when JSON cannot show it), cut to 60 characters, and its type.
 */
export function describeValue(value: unknown, options: DescribeOptions = {}): string {
  if (value === undefined) return 'nothing'
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
  let text: string
  try {
    text =
      typeof value === 'string' && options.strings === 'raw'
        ? value
        : (JSON.stringify(value) ?? String(value))
  } catch {
    text = String(value)
  }
  if (text.length > 60) text = text.slice(0, 57) + '...'
  return `\`${text}\` (${type})`
}
