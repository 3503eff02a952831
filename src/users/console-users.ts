import type { Logger } from '../logger.ts'
import { LoginThrottle } from './login-throttle.ts'
import { SessionStore } from './session-store.ts'
import { TrustedDevices } from './trusted-devices.ts'
import { UserStore } from './user-store.ts'

/** The console's users, sessions and login throttle, ready for the web service. */
export interface ConsoleUsers {
  users: UserStore
  sessions: SessionStore
  throttle: LoginThrottle
  /** Browsers that logged in before: their attempts skip their address's queue. */
  devices: TrustedDevices
  /**
   * At the very first start (no user yet) creates the admin user with a random password and logs it, this once,
   * at warn level; later starts only say that the user still has to change it. Call it last in the start-up.
   */
  ensureInitialAdmin(): Promise<void>
  /**
   * The admin's initial password, at the very first start only, for the start-up banner; returns it once and
   * forgets it.
   */
  takeInitialPassword(): { username: string; password: string } | undefined
}

/** The line that announces the initial password; docs/console.md and the README quote it. */
export const INITIAL_PASSWORD_MESSAGE = 'console user %s created with the initial password %s'

/**
 * Opens `<dataDir>/users.db`. Nothing is created yet: the gateway calls {@link ConsoleUsers.ensureInitialAdmin}
 * only once every listener is bound, so that a start that fails (a busy port) leaves no admin user behind whose
 * one-time password nobody saw (issue 12).
 */
export async function openConsoleUsers(
  dataDir: string,
  options: { sessionIdleSec: number; sessionMaxSec: number },
  logger: Logger,
): Promise<ConsoleUsers> {
  const log = logger.child({ component: 'console' })
  const users = UserStore.open(dataDir, { logger })
  let initial: { username: string; password: string } | undefined
  const sessions = new SessionStore({
    idleMs: options.sessionIdleSec * 1000,
    maxMs: options.sessionMaxSec * 1000,
    check: (username) => users.get(username),
  })
  return {
    users,
    sessions,
    throttle: new LoginThrottle(),
    async ensureInitialAdmin() {
      const admin = await users.ensureAdmin()
      if (admin.created) {
        initial = { username: admin.user.username, password: admin.password }
        log.warn(
          { username: admin.user.username, usersDb: users.path },
          `${INITIAL_PASSWORD_MESSAGE.replace('%s', admin.user.username).replace('%s', admin.password)}` +
            ' (shown only this once; it must be changed at the first login. Lost it? bundlegate user set-password)',
        )
      } else if (admin.user.mustChangePassword) {
        log.info(
          { username: admin.user.username },
          'console user still has its initial password (printed at the first start; lost it? bundlegate user set-password)',
        )
      }
    },
    devices: new TrustedDevices(),
    takeInitialPassword() {
      const taken = initial
      initial = undefined
      return taken
    },
  }
}
