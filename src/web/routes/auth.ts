import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../../logger.ts'
import {
  type LoginThrottle,
  PASSWORD_MAX_LENGTH,
  passwordProblem,
  type SessionStore,
  type TrustedDevices,
  type UserStore,
} from '../../users/index.ts'
import { csrfMatches, foreignOrigin, SESSION_COOKIE, sessionCookieOf } from '../auth.ts'
import { sendError } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'

/** What the console's logins need: the users, their sessions, the login throttle. */
export interface ConsoleAuth {
  users: UserStore
  sessions: SessionStore
  throttle: LoginThrottle
  /** Browsers that logged in before (a `bg_device` cookie): undefined, none is trusted. */
  devices?: TrustedDevices
}

const USERNAME_MAX = 64
/** The device cookie ({@link TrustedDevices}): sent to the login and password routes only. */
const DEVICE_COOKIE = 'bg_device'

function deviceCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie
  if (typeof header !== 'string') return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === DEVICE_COOKIE)
      return part
        .slice(eq + 1)
        .trim()
        .slice(0, 64)
  }
  return undefined
}

function deviceCookie(request: FastifyRequest, id: string, maxAgeMs: number): string {
  const parts = [`${DEVICE_COOKIE}=${id}`, `Path=${API_PREFIX}/auth`, 'HttpOnly', 'SameSite=Strict']
  parts.push(`Max-Age=${Math.floor(maxAgeMs / 1000)}`)
  if (request.protocol === 'https') parts.push('Secure')
  return parts.join('; ')
}

function cookie(request: FastifyRequest, value: string, clear = false): string {
  // Secure only over https: the gateway also serves plain http on loopback, where a Secure cookie would be dropped
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict']
  if (request.protocol === 'https') parts.push('Secure')
  if (clear) parts.push('Max-Age=0')
  return parts.join('; ')
}

/**
 * [HA-12] An attempt the login throttle refused unchecked (too many waiting from this address, or in all): 429 with
 * `Retry-After`, never a 401, which would tell the real user their password is wrong.
 */
function loginRefused(reply: FastifyReply, retryAfterMs: number) {
  const retryAfterSec = Math.max(1, Math.ceil(retryAfterMs / 1000))
  const why = 'for password checks from this address'
  return sendError(reply, 'GW_ERR_RATE_LIMITED', [why, retryAfterSec], { 'retry-after': retryAfterSec })
}

function stringField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined
  const v = (body as Record<string, unknown>)[name]
  return typeof v === 'string' ? v : undefined
}

/** What the login, logout and password routes share. */
interface AuthContext extends ConsoleAuth {
  log: Logger
  /** The request's device id when it is a trusted device of `username`. */
  trustedDevice(request: FastifyRequest, username: string): string | undefined
}

/**
 * Console sessions ([HA-10]): `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `POST /api/v1/auth/password`,
 * `GET /api/v1/auth/me`. `auth` is undefined when authentication is off: `me` then answers an anonymous admin
 * and the others 404.
 */
export function authRoutes(app: FastifyInstance, auth: ConsoleAuth | undefined, logger: Logger): void {
  const log = logger.child({ component: 'console' })
  app.get(
    `${API_PREFIX}/auth/me`,
    { config: { auth: 'read', duringPasswordChange: true } },
    async (request) => me(request, auth),
  )
  if (!auth) return
  const devices = auth.devices
  const ctx: AuthContext = {
    ...auth,
    log,
    trustedDevice: (request, username) => {
      const id = deviceCookieOf(request)
      return id !== undefined && devices?.trusts(username, id) ? id : undefined
    },
  }
  app.post(`${API_PREFIX}/auth/login`, (request, reply) => login(ctx, request, reply))
  app.post(`${API_PREFIX}/auth/logout`, async (request, reply) => logout(ctx, request, reply))
  app.post(
    `${API_PREFIX}/auth/password`,
    { config: { auth: 'read', duringPasswordChange: true } },
    (request, reply) => changePassword(ctx, request, reply),
  )
}

/** `GET /api/v1/auth/me`: who the caller is, and the CSRF token again for a reloaded console page. */
function me(request: FastifyRequest, auth: ConsoleAuth | undefined) {
  const p = request.principal
  if (p === undefined) return { username: null, scope: 'admin', mustChangePassword: false, csrfToken: null }
  const id = p.username === undefined ? undefined : sessionCookieOf(request)
  const session = id === undefined ? undefined : auth?.sessions.lookup(id)
  // the CSRF token again, for a reloaded console page: only same-origin script can read this answer
  return {
    username: p.username ?? null,
    scope: p.scope,
    mustChangePassword: session?.mustChangePassword ?? false,
    csrfToken: session?.csrfToken ?? null,
  }
}

/** `POST /api/v1/auth/login`: a session (and a trusted-device cookie) for a right password, through the throttle. */
async function login(ctx: AuthContext, request: FastifyRequest, reply: FastifyReply) {
  const { users, sessions, throttle, devices, log } = ctx
  // no login CSRF: a page of another origin may not log this browser into a session of its choosing
  const foreign = foreignOrigin(request)
  if (foreign !== undefined)
    return sendError(reply, 'GW_ERR_CROSS_ORIGIN', [JSON.stringify(foreign.slice(0, 200))])
  const username = stringField(request.body, 'username')
  const password = stringField(request.body, 'password')
  if (
    username === undefined ||
    password === undefined ||
    username.length > USERNAME_MAX ||
    [...password].length > PASSWORD_MAX_LENGTH
  ) {
    return sendError(reply, 'GW_ERR_BAD_REQUEST', [
      `Expected a JSON object {username, password} of strings (at most ${USERNAME_MAX} and ${PASSWORD_MAX_LENGTH} characters)`,
    ])
  }
  const name = username.trim()
  const device = ctx.trustedDevice(request, name)
  const result = await throttle.attempt(
    name,
    request.ip,
    () => users.verify(name, password),
    device !== undefined,
  )
  const user = result.value
  if (result.refused) {
    log.warn(
      { username: name, ip: request.ip, retryAfterMs: result.retryAfterMs },
      'console login refused: too many attempts waiting',
    )
    return loginRefused(reply, result.retryAfterMs)
  }
  if (user === undefined) {
    if (device !== undefined) devices?.forget(name, device)
    log.warn(
      {
        username: name,
        ip: request.ip,
        failures: result.failures,
        waitedMs: result.waitedMs,
        nextDelayMs: result.nextDelayMs,
      },
      'console login failed',
    )
    return sendError(reply, 'GW_ERR_LOGIN_FAILED')
  }
  const { id, session } = sessions.create(user)
  log.info(
    {
      username: user.username,
      ip: request.ip,
      waitedMs: result.waitedMs,
      trustedDevice: device !== undefined,
    },
    'console login',
  )
  const cookies = [cookie(request, id)]
  if (devices) cookies.push(deviceCookie(request, devices.issue(user.username, device), devices.ttlMs))
  return reply.header('set-cookie', cookies).send({
    username: user.username,
    mustChangePassword: session.mustChangePassword,
    csrfToken: session.csrfToken,
  })
}

/** `POST /api/v1/auth/logout`: the session ends and its cookie is cleared. */
function logout(ctx: AuthContext, request: FastifyRequest, reply: FastifyReply) {
  const id = sessionCookieOf(request)
  const session = id === undefined ? undefined : ctx.sessions.lookup(id)
  // logging out is a write: a live session needs its CSRF token, so another site cannot log the user out
  if (session && !csrfMatches(request, session.csrfToken)) return sendError(reply, 'GW_ERR_CSRF')
  if (id !== undefined) ctx.sessions.destroy(id)
  if (session) ctx.log.info({ username: session.username }, 'console logout')
  return reply
    .code(204)
    .header('set-cookie', cookie(request, '', true))
    .send()
}

/** `POST /api/v1/auth/password`: the session's user changes its password (the current one checked, throttled). */
async function changePassword(ctx: AuthContext, request: FastifyRequest, reply: FastifyReply) {
  const p = request.principal
  const id = sessionCookieOf(request)
  if (p?.username === undefined || id === undefined)
    return sendError(reply, 'GW_ERR_SESSION_REQUIRED', ['change its password'])
  const current = stringField(request.body, 'current')
  const next = stringField(request.body, 'next')
  if (current === undefined || next === undefined)
    return sendError(reply, 'GW_ERR_BAD_REQUEST', ['Expected a JSON object {current, next} of strings'])
  const username = p.username
  const device = ctx.trustedDevice(request, username)
  const result = await ctx.throttle.attempt(
    username,
    request.ip,
    () => ctx.users.verify(username, current),
    device !== undefined,
  )
  if (result.refused) return loginRefused(reply, result.retryAfterMs)
  if (result.value === undefined) {
    ctx.log.warn(
      { username, ip: request.ip, failures: result.failures },
      'password change: wrong current password',
    )
    return sendError(reply, 'GW_ERR_LOGIN_FAILED')
  }
  const problem = passwordProblem(next, username, current)
  if (problem !== undefined) return sendError(reply, 'GW_ERR_PASSWORD_POLICY', [problem])
  const user = await ctx.users.setPassword(username, next, false)
  ctx.sessions.passwordChanged(id, user)
  return reply.code(204).send()
}
