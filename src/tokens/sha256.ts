import { createHash } from 'node:crypto'

/** The SHA-256 of a secret's UTF-8 bytes (32 bytes): what the token and broker credential stores keep of a secret. */
export function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}
