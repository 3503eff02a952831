/** The shortest password the console accepts. */
export const PASSWORD_MIN_LENGTH = 10
/** The longest (it bounds the work of one scrypt call). */
export const PASSWORD_MAX_LENGTH = 1024

/**
 * Why `next` is not an acceptable new password for `username` (whose current password is `current`, when known),
 * or `undefined` when it is. Lengths count characters (code points).
 */
export function passwordProblem(next: string, username: string, current?: string): string | undefined {
  const length = [...next].length
  if (length < PASSWORD_MIN_LENGTH) return `it must have at least ${PASSWORD_MIN_LENGTH} characters`
  if (length > PASSWORD_MAX_LENGTH) return `it must have at most ${PASSWORD_MAX_LENGTH} characters`
  if (next.trim() === '') return 'it must not be only spaces'
  if (current !== undefined && next === current) return 'it must differ from the current password'
  if (next.toLowerCase() === username.toLowerCase()) return 'it must differ from the username'
  return undefined
}
