/**
 * The web service built in-process with the console on, for login tests: the real users, sessions and password
 * hashing, and a login throttle whose waits the test holds and releases (so no test waits out the real delays).
 * @module
 */

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ControllerCore } from '../../src/controller/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { LoginThrottle, openConsoleUsers, TrustedDevices, type UserStore } from '../../src/users/index.ts'
import { buildWebService } from '../../src/web/index.ts'
import { lifo } from './gateway.ts'

/** A web service with the console on; its throttle's waits are held while `gate.hold` is true. */
export async function consoleService(t: { after: (fn: () => Promise<void>) => void }) {
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-login-limits-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const tokens = TokenStore.open(dir, { logger: silentLogger() })
  defer(() => tokens.close())
  const core = new ControllerCore({ publish() {} }, { logger: silentLogger() })
  defer(() => core.close())
  const cu = await openConsoleUsers(dir, { sessionIdleSec: 600, sessionMaxSec: 3600 }, silentLogger())
  await cu.ensureInitialAdmin()
  defer(() => cu.users.close())
  const initial = cu.takeInitialPassword()
  assert.ok(initial)
  const gate = {
    hold: false,
    held: [] as Array<{ ms: number; release: () => void }>,
    releaseAll() {
      this.hold = false
      for (const h of this.held.splice(0)) h.release()
    },
  }
  defer(() => gate.releaseAll())
  const throttle = new LoginThrottle({
    sleep: (ms) =>
      gate.hold ? new Promise<void>((release) => gate.held.push({ ms, release })) : Promise.resolve(),
  })
  // the real user store, with the password checks counted
  const checks = { running: 0, most: 0, total: 0 }
  const users = Object.create(cu.users) as UserStore
  users.verify = async (username, password) => {
    checks.total++
    checks.running++
    checks.most = Math.max(checks.most, checks.running)
    try {
      return await cu.users.verify(username, password)
    } finally {
      checks.running--
    }
  }
  users.setPassword = cu.users.setPassword.bind(cu.users)
  const devices = new TrustedDevices()
  const app = buildWebService({
    core,
    tokens,
    logger: silentLogger(),
    ready: () => undefined,
    console: {
      auth: { users, sessions: cu.sessions, throttle, devices },
      info: { rootTokenFile: null, sessionIdleSec: 600, sessionMaxSec: 3600 },
      serve: false,
    },
  })
  defer(() => app.close())
  const login = (username: string, password: string, remoteAddress: string, cookie?: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress,
      payload: { username, password },
      ...(cookie === undefined ? {} : { headers: { cookie } }),
    })
  return { app, gate, throttle, checks, login, initial, devices }
}
