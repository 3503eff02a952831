import { commonPasswords } from './common-passwords.ts'

/** The shortest password the console accepts. */
export const PASSWORD_MIN_LENGTH = 10
/** The longest (it bounds the work of one scrypt call). */
export const PASSWORD_MAX_LENGTH = 1024
/** At least this many different characters. */
export const PASSWORD_MIN_DISTINCT = 4

/** Runs of these (forwards or backwards, from anywhere, wrapping around) are trivial sequences. */
const SEQUENCES = [
  'abcdefghijklmnopqrstuvwxyz',
  '0123456789',
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
]
/** Words that make a password guessable here: the product and what it replaces. */
const CONTEXT_WORDS = ['bundlegate', 'thingspro', 'moxa', 'sanji']

/** `text` is a run of one of the sequences (it is then found in the sequence written twice, or reversed). */
function isSequence(text: string): boolean {
  return SEQUENCES.some((s) => {
    const twice = s.repeat(Math.ceil(text.length / s.length) + 1)
    return twice.includes(text) || [...twice].reverse().join('').includes(text)
  })
}

/** `text` is a unit of at most a third of its length repeated (`abcabcabc`, `12121212`). */
function isRepetition(chars: readonly string[]): boolean {
  for (let unit = 1; unit <= chars.length / 3; unit++) {
    if (chars.length % unit !== 0) continue
    if (chars.every((c, i) => c === chars[i % unit])) return true
  }
  return false
}

/** `lower` is one of `words` with at most 5 characters added. */
function mostlyWord(lower: string, words: readonly string[]): string | undefined {
  return words.find((w) => w.length >= 3 && lower.includes(w) && lower.length - w.length <= 5)
}

/**
 * Why `next` is not an acceptable new password for `username` (whose current password is `current`, when known),
 * or `undefined` when it is. Lengths count characters (code points). Refused: fewer than 10 or more than 1024
 * characters, only spaces, the current password, the username or it with up to 5 characters added (the same for
 * the product's name), one character repeated or fewer than 4 different ones, a short unit repeated, a run of the
 * alphabet, digits or a keyboard row, and the most common passwords (`lists/common-passwords.txt`, read at the first
 * call), in any case. The console's password change and `bundlegate user set-password` both apply it.
 */
export function passwordProblem(next: string, username: string, current?: string): string | undefined {
  const chars = [...next]
  const length = chars.length
  if (length < PASSWORD_MIN_LENGTH) return `it must have at least ${PASSWORD_MIN_LENGTH} characters`
  if (length > PASSWORD_MAX_LENGTH) return `it must have at most ${PASSWORD_MAX_LENGTH} characters`
  if (next.trim() === '') return 'it must not be only spaces'
  if (current !== undefined && next === current) return 'it must differ from the current password'
  const lower = next.toLowerCase()
  if (lower === username.toLowerCase()) return 'it must differ from the username'
  const word = mostlyWord(lower, [username.toLowerCase(), ...CONTEXT_WORDS])
  if (word !== undefined) return `it must not be mostly the word ${JSON.stringify(word)}`
  const distinct = new Set([...lower]).size
  if (distinct === 1) return 'it must not be one character repeated'
  if (isRepetition([...lower])) return 'it must not be a short sequence of characters repeated'
  if (distinct < PASSWORD_MIN_DISTINCT)
    return `it must use at least ${PASSWORD_MIN_DISTINCT} different characters`
  if (isSequence(lower)) return 'it must not be a run of the alphabet, the digits or a keyboard row'
  if (commonPasswords().has(lower)) return 'it is one of the most common passwords'
  return undefined
}
