/**
 * The options of a config store ({@link ConfigStore.open}) and how they are checked.
 * @module
 */

import type { ValidateFunction } from 'ajv'
import { describeValue as describe } from '../describe-value.ts'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { Json } from '../protocol/index.ts'
import { compileSchema, errorsText } from './json-schema.ts'

/** Options of {@link ConfigStore.open}. */
export interface ConfigStoreOptions<T extends Json = Json> {
  /** How often the backup is refreshed from the current file; 0 disables it. @default 43_200_000 (12 h) */
  backupIntervalMs?: number
  /** A JSON Schema (ajv 8) the data must match, on load and on every save. */
  schema?: object
  /** Used (and saved) when neither the current file, the backup nor the factory file can be loaded. */
  defaults?: T
  /** pino logger; a child `{ component: 'config-store', store: name }` is used. @default silentLogger() */
  logger?: Logger
}

/** The default backup interval: 12 hours. */
export const DEFAULT_BACKUP_INTERVAL_MS = 12 * 60 * 60 * 1000
/** setInterval() cannot wait longer than this. */
const MAX_INTERVAL_MS = 2_147_483_647

/** Checks the arguments of {@link ConfigStore.open}; the logger defaults to a silent one. */
export function checkOptions(
  name: unknown,
  dir: unknown,
  options: unknown,
): { backupIntervalMs: number; validate: ValidateFunction | undefined; logger: Logger } {
  const label = typeof name === 'string' && name !== '' ? name : String(name)
  const fail = (text: string, cause?: unknown): never => {
    throw createError('GW_ERR_STORE_INVALID', [label, text], cause === undefined ? {} : { cause })
  }
  if (typeof name !== 'string' || !/^[^/\\\0]+$/.test(name) || name === '.' || name === '..') {
    fail(`Expected \`name\` to be a file name without path separators, got ${describe(name)}`)
  }
  if (typeof dir !== 'string' || dir === '')
    fail(`Expected \`dir\` to be a non-empty string, got ${describe(dir)}`)
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(`Expected \`options\` to be an object, got ${describe(options)}`)
  }
  const o = options as ConfigStoreOptions
  const interval = o.backupIntervalMs ?? DEFAULT_BACKUP_INTERVAL_MS
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < 0) {
    fail(`Expected \`backupIntervalMs\` to be a non-negative integer, got ${describe(interval)}`)
  }
  if (interval > MAX_INTERVAL_MS) {
    fail(`Expected \`backupIntervalMs\` to be at most ${MAX_INTERVAL_MS}, got ${describe(interval)}`)
  }
  let validate: ValidateFunction | undefined
  if (o.schema !== undefined) {
    if (typeof o.schema !== 'object' || o.schema === null || Array.isArray(o.schema)) {
      fail(`Expected \`schema\` to be a JSON Schema object, got ${describe(o.schema)}`)
    }
    try {
      validate = compileSchema(o.schema)
    } catch (err) {
      fail(`Expected \`schema\` to be a valid JSON Schema: ${(err as Error).message}`, err)
    }
  }
  if (o.defaults !== undefined) {
    if (!isJson(o.defaults)) fail(`Expected \`defaults\` to be a JSON value, got ${describe(o.defaults)}`)
    if (validate && !validate(o.defaults)) {
      fail(`Expected \`defaults\` to match the schema: ${errorsText(validate.errors ?? [])}`)
    }
  }
  const logger = o.logger ?? silentLogger()
  if (
    typeof logger !== 'object' ||
    logger === null ||
    typeof logger.child !== 'function' ||
    typeof logger.debug !== 'function' ||
    typeof logger.warn !== 'function'
  ) {
    fail(`Expected \`logger\` to be a pino logger, got ${describe(logger)}`)
  }
  return { backupIntervalMs: interval, validate, logger }
}

function isJson(value: unknown, seen = new Set<object>()): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (typeof value !== 'object' || seen.has(value)) return false
  seen.add(value)
  const ok = Array.isArray(value)
    ? value.every((v) => isJson(v, seen))
    : Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every((v) => isJson(v, seen))
  seen.delete(value)
  return ok
}

/** How a wrong value shows in these messages (the one copy: src/describe-value.ts). */
export { describeValue as describe } from '../describe-value.ts'
