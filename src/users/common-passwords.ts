import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The list file: from `src/users/` and from `dist/users/` alike, two levels up (shipped with the package). */
export const COMMON_PASSWORDS_FILE = fileURLToPath(
  new URL('../../lists/common-passwords.txt', import.meta.url),
)

let list: Set<string> | undefined

/**
 * The most common passwords (lower case), read from {@link COMMON_PASSWORDS_FILE} at the first call only: a gateway
 * that never sets a password never reads it. Lines starting with `#` are comments.
 */
export function commonPasswords(): ReadonlySet<string> {
  if (list === undefined) {
    const set = new Set<string>()
    for (const line of readFileSync(COMMON_PASSWORDS_FILE, 'utf8').split('\n')) {
      const p = line.trim()
      if (p !== '' && !p.startsWith('#')) set.add(p.toLowerCase())
    }
    list = set
  }
  return list
}

/** Whether the list has been read (for the test that it is read lazily). */
export function commonPasswordsLoaded(): boolean {
  return list !== undefined
}
