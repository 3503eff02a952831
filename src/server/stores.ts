/**
 * The gateway's stores: the token store and the console's users (when authentication is on), and the file
 * service's store.
 * @module
 */
import { join, resolve } from 'node:path'
import type { Config } from '../config/index.ts'
import { FileStore } from '../files/index.ts'
import type { Logger } from '../logger.ts'
import { defaultTokenFilePath, TokenStore } from '../tokens/index.ts'
import { type ConsoleUsers, openConsoleUsers } from '../users/index.ts'
import type { Closers } from './closers.ts'

/** The stores of authentication; all `undefined` when `http.auth` is off. */
export interface AuthStores {
  tokens: TokenStore | undefined
  /** The root token file (written by the first start, once every listener is bound). */
  tokenFile: string | undefined
  consoleUsers: ConsoleUsers | undefined
}

/**
 * Opens `<data.dir>/tokens.db` and, with `http.console`, the console's users. The root token file and the
 * console's admin user are made later, once every listener is bound (see startGateway).
 */
export async function openAuthStores(
  cfg: Readonly<Config>,
  logger: Logger,
  log: Logger,
  closers: Closers,
): Promise<AuthStores> {
  let tokens: TokenStore | undefined
  let tokenFile: string | undefined
  let consoleUsers: ConsoleUsers | undefined
  if (cfg.http.auth) {
    const dataDir = resolve(cfg.data.dir)
    tokens = TokenStore.open(dataDir, { logger })
    const store = tokens
    closers.add(() => store.close())
    tokenFile = cfg.data.tokenFile ? resolve(cfg.data.tokenFile) : defaultTokenFilePath(dataDir)
    if (cfg.http.console) {
      const cu = await openConsoleUsers(dataDir, cfg.http, logger)
      consoleUsers = cu
      closers.add(() => cu.users.close())
    }
  } else {
    log.warn('authentication is OFF: every caller of /api/v1 is an admin (development only)')
  }
  return { tokens, tokenFile, consoleUsers }
}

/** Opens the file service's store, `<data.dir>/files`. */
export async function openFileStore(
  cfg: Readonly<Config>,
  logger: Logger,
  closers: Closers,
): Promise<FileStore> {
  const files = await FileStore.open(join(resolve(cfg.data.dir), 'files'), { ...cfg.files, logger })
  closers.add(() => files.close())
  return files
}
