/**
 * The root token file ([HA-8]): one admin secret and a newline, mode 0600, at `/etc/mx-api-token` when that is
 * writable, else `<dataDir>/mx-api-token`. The gateway makes sure at start that the file holds a working root
 * secret; `rotateRootToken` replaces it.
 * @module
 */

import { randomBytes } from 'node:crypto'
import { accessSync, constants } from 'node:fs'
import { chmod, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
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
 * Makes sure the token file at `path` holds the secret of an active root token of THIS gateway (start-up). The
 * file belongs to this install when its secret's hash is in this install's token store:
 * - a secret that verifies as an active root admin token is kept (a loose mode is tightened to 0600);
 * - a secret of this store that is revoked, expired or not a root token is replaced by a new root token;
 * - no file, or an empty one: a new root token replaces every active one, its secret written atomically, 0600;
 * - anything else (a Bundlegate secret this store never issued, or content that is not a Bundlegate secret at all,
 *   such as the original ThingsPro's token) is another install's, or this one's from before its data directory
 *   was deleted: it is neither adopted (its holders would become admins here) nor overwritten (it may be another
 *   install's live secret); the start fails. {@link adoptRootToken} (`bundlegate token adopt-root`) takes it over.
 * @throws GW_ERR_TOKEN_FILE_FOREIGN for a file that is not this install's (the message names the file and fixes).
 * @throws GW_ERR_TOKEN_FILE when the file cannot be read or written (the message names the path and OS error).
 */
export async function ensureRootToken(
  store: TokenStore,
  path: string,
  options: RootTokenOptions = {},
): Promise<EnsuredRootToken> {
  const log = (options.logger ?? silentLogger()).child({ component: 'tokens' })
  const secret = await readSecret(path)
  if (secret !== undefined && secret !== '') {
    const result = TokenStore.isWellFormedSecret(secret) ? store.verify(secret) : undefined
    if (result === undefined || (!result.ok && result.reason === 'unknown'))
      throw createError('GW_ERR_TOKEN_FILE_FOREIGN', [path, store.path])
    if (result.ok && result.token.root && result.token.scope === 'admin') {
      await tightenMode(path, log)
      log.info({ path, id: result.token.id }, 'root token file in use')
      return { path, created: false, token: result.token }
    }
    const why = result.ok ? 'not a root admin token' : result.reason
    log.warn({ path, reason: why }, 'root token file holds an unusable token of this gateway: replacing it')
  }
  const token = await replaceRoot(store, path)
  log.info({ path, id: token.id }, 'root token file created')
  return { path, created: true, token }
}

/**
 * Takes over the secret in `path` as this gateway's root token (`bundlegate token adopt-root`): for a file that
 * {@link ensureRootToken} refuses as another install's, when the user decides it is this gateway's after all
 * (its data directory was deleted, or the install moved). Every other root token is revoked.
 * @throws GW_ERR_TOKEN_INVALID when the file holds no Bundlegate secret, or one this store already knows.
 * @throws GW_ERR_TOKEN_FILE when the file cannot be read.
 */
export async function adoptRootToken(
  store: TokenStore,
  path: string,
  options: RootTokenOptions = {},
): Promise<TokenInfo> {
  const log = (options.logger ?? silentLogger()).child({ component: 'tokens' })
  const secret = await readSecret(path)
  if (secret === undefined || !TokenStore.isWellFormedSecret(secret))
    throw createError('GW_ERR_TOKEN_INVALID', [
      `${path} holds no Bundlegate root secret (bgt_ and 43 base64url characters) to adopt`,
    ])
  const known = store.verify(secret)
  if (known.ok || known.reason !== 'unknown')
    throw createError('GW_ERR_TOKEN_INVALID', [`the secret in ${path} is already this gateway's`])
  const token = store.installRootSecret(secret)
  await tightenMode(path, log)
  log.warn({ path, id: token.id }, "root token file adopted: its secret is now this gateway's root token")
  return token
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
 * Writes the new secret to a temp file next to `path` (fsync), registers it (revoking every other root token),
 * then renames the temp file over `path`. A failed write changes nothing; a crash after the registration leaves
 * the old file, whose secret is now a revoked token of this store, which the next {@link ensureRootToken}
 * replaces: the file never holds a secret this store does not know (which would be refused as another install's).
 */
async function replaceRoot(store: TokenStore, path: string): Promise<TokenInfo> {
  const secret = TokenStore.generateSecret()
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const written = (err: unknown) =>
    createError('GW_ERR_TOKEN_FILE', [path, 'written', osError(err)], { cause: err })
  try {
    const handle = await open(tmp, 'wx', 0o600)
    try {
      await handle.chmod(0o600)
      await handle.writeFile(`${secret}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw written(err)
  }
  let token: TokenInfo
  try {
    token = store.installRootSecret(secret)
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {})
    throw (err as { code?: string }).code?.startsWith('GW_ERR_') ? err : written(err)
  }
  await syncDirectory(dirname(path))
  return token
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // platforms and file systems that cannot fsync a directory
  }
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
