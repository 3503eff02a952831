/**
 * Console logins under load ([HA-10] "after a growing delay", [HA-12] 429 `GW_ERR_RATE_LIMITED` with `Retry-After`):
 * a guesser keeping attempts in flight must not lock the real user out, an attempt refused unchecked is a 429 (never a
 * 401, which would say the password is wrong), and one address cannot make the process run many password checks
 * (scrypt) at once. The web service is built in-process with a login throttle whose waits the test releases, so no
 * test waits out the real delays; the users, sessions and password hashing are the real ones.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LoginThrottle } from '../../src/users/index.ts'
import { consoleService } from '../helpers/console-service.ts'
import { waitFor } from '../helpers/gateway.ts'

const ATTACKER = '10.66.0.1'
const ADMIN_ADDRESS = '10.77.0.1'

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
  // the admin, from another (clean) address, is neither delayed by the username's failures nor queued behind the
  // guesses: no wait is held for it
  const ok = await login('admin', initial.password, ADMIN_ADDRESS)
  assert.equal(gate.held.length, 1, "[HA-10] only the guesser's attempt waits")
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
  // 20 clean addresses: their attempts are bounded by maxClean (maxPending bounds those of addresses with failures)
  const throttle = new LoginThrottle({ maxChecks: 2, maxClean: 16, sleep: async () => {} })
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
