/**
 * The bundle's side of the gateway's lifeline (`src/process/spawn-child.ts`): when the process that started the
 * bundle hands it a pipe (`BUNDLEGATE_PARENT_FD=<fd>`), end-of-file on it means that process is gone (also after a
 * kill -9). The bundle then stops as on SIGTERM, so it never lingers as an orphan.
 * @module
 */

import { fstatSync } from 'node:fs'
import { Socket } from 'node:net'
import type { Logger } from '../logger.ts'

/** Set by the gateway when it spawns a bundle; the same name as `PARENT_FD_ENV` of `src/process`. */
const PARENT_FD_ENV = 'BUNDLEGATE_PARENT_FD'
/** After SIGTERM to itself, how long the bundle may take to stop before it exits anyway. */
const EXIT_AFTER_MS = 5000

/**
 * Watches the lifeline named by `BUNDLEGATE_PARENT_FD`, if any, and removes the variable from the environment
 * (a program the bundle starts must not read a descriptor it does not have). Does nothing when the variable is
 * unset or the descriptor is not a pipe or socket. Returns whether a lifeline is watched.
 */
export function watchParent(log: Logger, env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env[PARENT_FD_ENV]
  if (raw === undefined) return false
  delete env[PARENT_FD_ENV]
  if (!/^\d{1,4}$/.test(raw)) return false
  const fd = Number(raw)
  let socket: Socket
  try {
    const info = fstatSync(fd)
    if (!info.isSocket() && !info.isFIFO()) return false
    socket = new Socket({ fd, readable: true, writable: false })
  } catch {
    return false // not open in this process (started by hand with the variable set)
  }
  let gone = false
  const onGone = () => {
    if (gone) return
    gone = true
    log.warn('the process that started this bundle is gone: stopping')
    setTimeout(() => process.exit(1), EXIT_AFTER_MS).unref()
    process.kill(process.pid, 'SIGTERM')
  }
  socket.on('data', () => {}) // nothing is ever written; reading is what detects the end
  socket.once('end', onGone)
  socket.once('close', onGone)
  socket.on('error', onGone)
  socket.unref()
  return true
}
