/**
 * The root token file ([HA-8]): one admin secret and a newline, mode 0600, at `/etc/mx-api-token` when that is
 * writable, else `<dataDir>/mx-api-token`. The gateway makes sure at start that the file holds a working root
 * secret; `rotateRootToken` replaces it.
 * @module
 */

import { accessSync, constants } from 'node:fs'
import { chmod, readFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../atomic-write.ts'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { type TokenInfo, TokenStore } from './token-store.ts'

/** The ThingsPro location of the token file. */
export const ETC_TOKEN_FILE = '/etc/mx-api-token'
/** The token file's name inside the data directory, when `/etc` is not writable. */
export const TOKEN_FILE_NAME = 'mx-api-token'

/** Options of {@link ensureRootToken} and {@link rotateRootToken}. */
export interface RootTokenOptions {
  /** pino logger; a child `{ component: 'tokens' }` is used. Lines name the path, never the secret. @default silentLogger() */
  logger?: Logger
}

/** What {@link ensureRootToken} found or did. */
export interface EnsuredRootToken {
  /** The token file. */
  path: string
  /** Whether a new secret was made and written to the file. */
  created: boolean
  /** The active root token whose secret the file holds. */
  token: TokenInfo
}

/** What {@link rotateRootToken} did. */
export interface RotatedRootToken {
  /** The token file, now holding the new secret. */
  path: string
  /** The new root token. */
  token: TokenInfo
}

/**
 * Where the token file goes by default: `etcPath` when it can be written (the file exists and is writable, or it
 * does not exist and its directory is writable), otherwise `<dataDir>/mx-api-token`. [HA-8]
 * @param etcPath the preferred location; tests pass a temp path. @default '/etc/mx-api-token'
 */
export function defaultTokenFilePath(dataDir: string, etcPath: string = ETC_TOKEN_FILE): string {
  return writable(etcPath) ? etcPath : join(dataDir, TOKEN_FILE_NAME)
}

/**
 * Makes sure the token file at `path` holds the secret of an active root token (gateway start-up):
 * - a well-formed secret that verifies as an active root admin token is kept;
 * - a well-formed secret the store does not know (the database was deleted) is registered as the root token, so the
 *   secret the user already has keeps working;
 * - otherwise (no file, malformed, revoked, expired, not a root token) a new root token replaces every active one
 *   and its secret is written atomically, mode 0600.
 * A file that is kept gets its mode tightened to 0600 when it is looser.
 * @throws GW_ERR_TOKEN_FILE when the file cannot be read or written (the message names the path and OS error).
 */
export async function ensureRootToken(
  store: TokenStore,
  path: string,
  options: RootTokenOptions = {},
): Promise<EnsuredRootToken> {
  const log = (options.logger ?? silentLogger()).child({ component: 'tokens' })
  const secret = await readSecret(path)
  if (secret !== undefined && TokenStore.isWellFormedSecret(secret)) {
    const result = store.verify(secret)
    if (result.ok && result.token.root && result.token.scope === 'admin') {
      await tightenMode(path, log)
      log.info({ path, id: result.token.id }, 'root token file in use')
      return { path, created: false, token: result.token }
    }
    if (!result.ok && result.reason === 'unknown') {
      const token = store.installRootSecret(secret)
      await tightenMode(path, log)
      log.warn(
        { path, id: token.id },
        'root token file holds a secret unknown to the token store: registered it',
      )
      return { path, created: false, token }
    }
    const why = result.ok ? 'not a root admin token' : result.reason
    log.warn({ path, reason: why }, 'root token file holds an unusable secret: replacing it')
  } else if (secret !== undefined) {
    log.warn({ path }, 'root token file is malformed: replacing it')
  }
  const token = await replaceRoot(store, path)
  log.info({ path, id: token.id }, 'root token file created')
  return { path, created: true, token }
}

/**
 * Replaces the root token: a new secret is written to `path` (atomically, mode 0600), then, in one transaction,
 * every active root token is revoked and the new one registered. The old secret stops working at once.
 * @throws GW_ERR_TOKEN_FILE when the file cannot be written; the old file and root token are then unchanged.
 */
export async function rotateRootToken(
  store: TokenStore,
  path: string,
  options: RootTokenOptions = {},
): Promise<RotatedRootToken> {
  const log = (options.logger ?? silentLogger()).child({ component: 'tokens' })
  const token = await replaceRoot(store, path)
  log.info({ path, id: token.id }, 'root token rotated')
  return { path, token }
}

/**
 * Writes a new secret first and registers it second: a crash in between leaves a file whose secret is unknown to
 * the store, which the next {@link ensureRootToken} registers, rather than a root token whose secret is lost.
 */
async function replaceRoot(store: TokenStore, path: string): Promise<TokenInfo> {
  const secret = TokenStore.generateSecret()
  try {
    await writeFileAtomic(path, `${secret}\n`, { mode: 0o600 })
  } catch (err) {
    throw createError('GW_ERR_TOKEN_FILE', [path, 'written', osError(err)], { cause: err })
  }
  return store.installRootSecret(secret)
}

/** The file's content without surrounding white space, or `undefined` when it does not exist. */
async function readSecret(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw createError('GW_ERR_TOKEN_FILE', [path, 'read', osError(err)], { cause: err })
  }
}

async function tightenMode(path: string, log: Logger): Promise<void> {
  try {
    const mode = (await stat(path)).mode & 0o777
    if ((mode & 0o077) === 0) return
    await chmod(path, mode & 0o700)
    log.warn(
      { path, mode: mode.toString(8) },
      'root token file was readable by others: mode set to owner only',
    )
  } catch (err) {
    log.warn({ path, err }, 'cannot check or tighten the mode of the root token file')
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false
  }
  try {
    accessSync(dirname(path), constants.W_OK)
    return true
  } catch {
    return false
  }
}

function osError(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
