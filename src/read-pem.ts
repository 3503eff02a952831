import { readFileSync } from 'node:fs'
import { createError } from './errors.ts'

/**
 * Reads a PEM file for a TLS option (the gateway's `broker.caFile`…, a bundle's `BROKER_CA_FILE`…), once at start.
 * @throws GW_ERR_TLS_FILE naming the setting and the path, so a typo never falls back to a plain connection.
 */
export function readPem(path: string, setting: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    throw createError('GW_ERR_TLS_FILE', [setting, path, (err as Error).message], { cause: err })
  }
}
