/**
 * Password hashing with scrypt (node:crypto), as http-api.md [HA-10] asks. A stored hash records its own
 * parameters, `scrypt$N=<N>,r=<r>,p=<p>$<salt>$<hash>` (base64url), so the cost can be raised later without
 * breaking the passwords already stored.
 * @module
 */

import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

/** The cost parameters of a hash. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number
  /** Block size. */
  r: number
  /** Parallelisation. */
  p: number
}

/** What new hashes use: 2^15 × 8 × 128 bytes = 32 MiB of memory and about 0.1 s of one core per check. */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = { N: 32_768, r: 8, p: 1 }

const KEY_BYTES = 32
const SALT_BYTES = 16
const FORMAT = /^scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/

function derive(password: string, salt: Buffer, params: ScryptParams, bytes: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r * params.p + 1024 * 1024,
  }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, bytes, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, params, KEY_BYTES)
  return `scrypt$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Whether `password` matches `stored` (made by {@link hashPassword}); a malformed `stored` never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored)
  if (!m) return false
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }
  const salt = Buffer.from(m[4] as string, 'base64url')
  const expected = Buffer.from(m[5] as string, 'base64url')
  if (expected.length < 16 || expected.length > 64) return false
  const key = await derive(password, salt, params, expected.length)
  return timingSafeEqual(key, expected)
}
