import { randomBytes } from 'node:crypto'

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
/** Random characters after the prefix: 50 bits. */
const LENGTH = 10

/**
 * A public id: `prefix` and 10 random lowercase base32 characters, e.g. `tk_3kq7zmw2ab`.
 * @example randomId('bc_')
 */
export function randomId(prefix: string): string {
  let id = prefix
  // 256 is a multiple of 32, so `& 31` keeps the characters uniformly distributed
  for (const byte of randomBytes(LENGTH)) id += ALPHABET[byte & 31]
  return id
}
