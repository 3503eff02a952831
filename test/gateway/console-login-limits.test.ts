/**
 * Console logins under load ([HA-10] "after a growing delay", [HA-12] 429 `GW_ERR_RATE_LIMITED` with `Retry-After`):
 * a guesser keeping attempts in flight must not lock the real user out, an attempt refused unchecked is a 429 (never a
 * 401, which would say the password is wrong), and one address cannot make the process run many password checks
 * (scrypt) at once. The web service is built in-process with a login throttle whose waits the test releases, so no
 * test waits out the real delays; the users, sessions and password hashing are the real ones.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ControllerCore } from '../../src/controller/index.ts'
import { buildGateway } from '../../src/gateway/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { LoginThrottle, openConsoleUsers, type UserStore } from '../../src/users/index.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'

const ATTACKER = '10.66.0.1'
const ADMIN_ADDRESS = '10.77.0.1'

/** A web service with the console on; its throttle's waits are held while `gate.hold` is true. */
async function consoleService(t: { after: (fn: () => Promise<void>) => void }) {
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
  const app = buildGateway({
    core,
    tokens,
    logger: silentLogger(),
    ready: () => undefined,
    console: {
      auth: { users, sessions: cu.sessions, throttle },
      info: { rootTokenFile: null, sessionIdleSec: 600, sessionMaxSec: 3600 },
      serve: false,
    },
  })
  defer(() => app.close())
  const login = (username: string, password: string, remoteAddress: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { username, password } })
  return { app, gate, throttle, checks, login, initial }
}

test('[HA-10][HA-12] a guesser keeping 8 attempts in flight neither locks the admin out of login nor of /auth/password', async (t) => {
  const { app, gate, throttle, login, initial } = await consoleService(t)
  for (let i = 0; i < 3; i++) {
    const r = await login('admin', `wrong password ${i}`, ATTACKER)
    assert.equal(r.statusCode, 401)
    assert.equal(r.json().code, 'GW_ERR_LOGIN_FAILED')
  }
  gate.hold = true
  const flood = Array.from({ length: 8 }, (_, i) => login('admin', `guess ${i}`, ATTACKER))
  await waitFor(() => throttle.pending === 8 && gate.held.length === 1, 5000, 'the 8 queued guesses')
  // [HA-12] one more from that address is refused unchecked: 429 with Retry-After, not a (false) wrong password
  const refused = await login('admin', 'guess 9', ATTACKER)
  assert.equal(refused.statusCode, 429)
  assert.equal(refused.json().code, 'GW_ERR_RATE_LIMITED')
  const retryAfter = Number(refused.headers['retry-after'])
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${refused.headers['retry-after']}`)
  // the admin, from another address, waits only the username's delay (3 failures: 4 × base), then gets in
  const admin = login('admin', initial.password, ADMIN_ADDRESS)
  await waitFor(() => gate.held.length === 2, 5000, "the admin's wait")
  const adminWait = gate.held.pop()
  assert.equal(adminWait?.ms, 1000, "[HA-10] the username's growing delay still applies")
  adminWait?.release()
  const ok = await admin
  assert.equal(ok.statusCode, 200, ok.body)
  assert.equal(throttle.pending, 8, "the guesser's attempts are still waiting")
  // the password change checks the current password through the same throttle: not locked out either
  const cookie = String(ok.headers['set-cookie']).split(';')[0] as string
  const changed = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/password',
    remoteAddress: ADMIN_ADDRESS,
    headers: { cookie, 'x-csrf-token': ok.json().csrfToken },
    payload: { current: initial.password, next: 'a much Better passphrase 42' },
  })
  assert.equal(changed.statusCode, 204, changed.body)
  gate.releaseAll()
  const guesses = await Promise.all(flood)
  assert.deepEqual(
    guesses.map((g) => g.statusCode),
    Array(8).fill(401),
  )
})

test('[HA-12] 300 parallel logins with distinct usernames from one address: one password check at a time, the rest 429', async (t) => {
  const { checks, login } = await consoleService(t)
  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => login(`user${i}`, 'x', ATTACKER)))
  t.diagnostic(`300 parallel logins answered in ${Date.now() - started} ms; ${checks.total} password checks`)
  const statuses = answers.map((a) => a.statusCode)
  assert.equal(statuses.filter((s) => s === 401).length + statuses.filter((s) => s === 429).length, 300)
  assert.ok(statuses.includes(429), 'attempts beyond the address queue are refused')
  for (const a of answers.filter((x) => x.statusCode === 429)) {
    assert.equal(a.json().code, 'GW_ERR_RATE_LIMITED')
    assert.ok(Number(a.headers['retry-after']) >= 1)
  }
  assert.equal(checks.total, statuses.filter((s) => s === 401).length, 'a refused attempt is never checked')
  assert.equal(checks.most, 1, "one address's attempts run one at a time")
})

test('[HA-12] the whole process: at most maxChecks password checks at once, at most maxPending attempts waiting', async () => {
  const throttle = new LoginThrottle({ maxChecks: 2, maxPending: 16, sleep: async () => {} })
  let running = 0
  let most = 0
  const release: Array<() => void> = []
  const check = async () => {
    running++
    most = Math.max(most, running)
    await new Promise<void>((r) => release.push(r))
    running--
    return undefined
  }
  // 20 addresses at once: each has its own queue, the process-wide bounds still hold
  const attempts = Array.from({ length: 20 }, (_, i) => throttle.attempt(`user${i}`, `10.2.0.${i}`, check))
  await waitFor(() => release.length === 2, 5000, 'the first two checks')
  assert.equal(throttle.pending, 16)
  const refused = (await Promise.all(attempts.slice(16))).map((r) => [r.refused, r.retryAfterMs >= 1000])
  assert.deepEqual(refused, Array(4).fill([true, true]))
  while (release.length > 0 || throttle.pending > 0) {
    release.splice(0).forEach((r) => {
      r()
    })
    await new Promise((r) => setImmediate(r))
  }
  const done = await Promise.all(attempts.slice(0, 16))
  assert.ok(done.every((r) => !r.refused && r.value === undefined))
  assert.equal(most, 2)
  assert.equal(throttle.pending, 0)
})
