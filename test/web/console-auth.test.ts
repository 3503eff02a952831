import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { main } from '../../src/cli/main.ts'
import { loadConfig } from '../../src/config/index.ts'
import { startGateway } from '../../src/server.ts'
import { logSink } from '../helpers/gateway.ts'
import { gatewayWithAdmin, login, withSession } from './console-helpers.ts'

const NEW_PASSWORD = 'a much better password'

test('[HA-10] login: session cookie HttpOnly, SameSite=Strict, Path=/, not Secure over http; me; wrong password 401', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const bad = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: 'admin', password: 'wrong password' },
  })
  assert.equal(bad.statusCode, 401)
  assert.equal(bad.json().code, 'GW_ERR_LOGIN_FAILED')
  assert.equal(bad.headers['set-cookie'], undefined)
  const unknown = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: 'nobody', password: initial },
  })
  assert.equal(unknown.statusCode, 401)
  assert.deepEqual(unknown.json(), bad.json(), 'an unknown user and a wrong password look the same')
  const notJson = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: 1 },
  })
  assert.equal(notJson.statusCode, 400)

  const s = await login(gw, initial)
  assert.deepEqual(Object.keys(s.body).sort(), ['csrfToken', 'mustChangePassword', 'username'])
  assert.equal(s.body.username, 'admin')
  assert.equal(s.body.mustChangePassword, true)
  const attrs = s.setCookie.split(';').map((x) => x.trim())
  assert.match(attrs[0] as string, /^bg_session=[A-Za-z0-9_-]{43}$/)
  assert.ok(attrs.includes('HttpOnly'))
  assert.ok(attrs.includes('SameSite=Strict'))
  assert.ok(attrs.includes('Path=/'))
  assert.ok(!attrs.includes('Secure'), 'plain http on loopback: a Secure cookie would be dropped')
  const me = await withSession(gw, 'GET', '/api/v1/auth/me', { cookie: s.cookie })
  assert.equal(me.statusCode, 200)
  assert.deepEqual(me.json(), {
    username: 'admin',
    scope: 'admin',
    mustChangePassword: true,
    csrfToken: s.csrf,
  })
  const none = await gw.http.inject({ method: 'GET', url: '/api/v1/auth/me' })
  assert.equal(none.statusCode, 401)
  const stale = await withSession(gw, 'GET', '/api/v1/auth/me', { cookie: 'bg_session=forged' })
  assert.equal(stale.statusCode, 401)
  assert.equal(stale.json().code, 'GW_ERR_AUTH_REQUIRED')
})

test('[HA-10] must change the initial password: everything else 403; policy; then the session works', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const s = await login(gw, initial)
  const blocked = await withSession(gw, 'GET', '/api/v1/tokens', s)
  assert.equal(blocked.statusCode, 403)
  assert.equal(blocked.json().code, 'GW_ERR_PASSWORD_CHANGE_REQUIRED')
  const blockedBundles = await withSession(gw, 'GET', '/api/v1/bundles', s)
  assert.equal(blockedBundles.json().code, 'GW_ERR_PASSWORD_CHANGE_REQUIRED')

  const change = (current: string, next: string, csrf: string | null = s.csrf) =>
    withSession(
      gw,
      'POST',
      '/api/v1/auth/password',
      { cookie: s.cookie, ...(csrf === null ? {} : { csrf }) },
      { current, next },
    )
  const noCsrf = await change(initial, NEW_PASSWORD, null)
  assert.equal(noCsrf.statusCode, 403)
  assert.equal(noCsrf.json().code, 'GW_ERR_CSRF')
  for (const weak of ['short', initial, ' '.repeat(12)]) {
    const r = await change(initial, weak)
    assert.equal(r.statusCode, 400, weak)
    assert.equal(r.json().code, 'GW_ERR_PASSWORD_POLICY')
  }
  const wrongCurrent = await change('not the password', NEW_PASSWORD)
  assert.equal(wrongCurrent.statusCode, 401)
  assert.equal(wrongCurrent.json().code, 'GW_ERR_LOGIN_FAILED')
  const ok = await change(initial, NEW_PASSWORD)
  assert.equal(ok.statusCode, 204)
  const tokens = await withSession(gw, 'GET', '/api/v1/tokens', s)
  assert.equal(tokens.statusCode, 200, 'the same session goes on with the new password')
  const me = await withSession(gw, 'GET', '/api/v1/auth/me', s)
  assert.equal(me.json().mustChangePassword, false)
  const old = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username: 'admin', password: initial },
  })
  assert.equal(old.statusCode, 401, 'the initial password no longer works')
  const again = await login(gw, NEW_PASSWORD)
  assert.equal(again.body.mustChangePassword, false)
  const viaToken = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/auth/password',
    headers: { 'mx-api-token': gw.rootToken },
    payload: { current: NEW_PASSWORD, next: 'yet another password' },
  })
  assert.equal(viaToken.statusCode, 403)
  assert.equal(viaToken.json().code, 'GW_ERR_SESSION_REQUIRED')
})

test('[HA-3] CSRF: cookie writes need x-csrf-token; reads do not; token writes never do', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  let s = await login(gw, initial)
  await withSession(gw, 'POST', '/api/v1/auth/password', s, { current: initial, next: NEW_PASSWORD })
  s = await login(gw, NEW_PASSWORD)
  const body = { description: 'from the console', scope: 'read' }
  const none = await withSession(gw, 'POST', '/api/v1/tokens', { cookie: s.cookie }, body)
  assert.equal(none.statusCode, 403)
  assert.equal(none.json().code, 'GW_ERR_CSRF')
  const wrong = await withSession(
    gw,
    'POST',
    '/api/v1/tokens',
    { cookie: s.cookie, csrf: `${s.csrf.slice(1)}x` },
    body,
  )
  assert.equal(wrong.json().code, 'GW_ERR_CSRF')
  const other = await login(gw, NEW_PASSWORD)
  const crossed = await withSession(
    gw,
    'POST',
    '/api/v1/tokens',
    { cookie: s.cookie, csrf: other.csrf },
    body,
  )
  assert.equal(crossed.json().code, 'GW_ERR_CSRF', "another session's CSRF token does not fit")
  const created = await withSession(gw, 'POST', '/api/v1/tokens', s, body)
  assert.equal(created.statusCode, 201)
  const id = created.json().id as string
  const read = await withSession(gw, 'GET', '/api/v1/tokens', { cookie: s.cookie })
  assert.equal(read.statusCode, 200)
  const del = await withSession(gw, 'DELETE', `/api/v1/tokens/${id}`, { cookie: s.cookie })
  assert.equal(del.json().code, 'GW_ERR_CSRF')
  const delOk = await withSession(gw, 'DELETE', `/api/v1/tokens/${id}`, s)
  assert.equal(delOk.statusCode, 204)
  const byToken = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    headers: { 'mx-api-token': gw.rootToken },
    payload: body,
  })
  assert.equal(byToken.statusCode, 201, 'a token needs no CSRF header')
})

test('[HA-3] order: mx-api-token header, then Bearer, then the session cookie', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  let s = await login(gw, initial)
  await withSession(gw, 'POST', '/api/v1/auth/password', s, { current: initial, next: NEW_PASSWORD })
  s = await login(gw, NEW_PASSWORD)
  const read = gw.tokens?.create({ description: 'reader', scope: 'read' }).secret as string
  // cookie alone: admin
  assert.equal((await withSession(gw, 'GET', '/api/v1/tokens', s)).statusCode, 200)
  // a read token in the header decides over the admin cookie
  const header = await withSession(gw, 'GET', '/api/v1/tokens', s, undefined, { 'mx-api-token': read })
  assert.equal(header.statusCode, 403)
  assert.equal(header.json().code, 'GW_ERR_SCOPE')
  const bearer = await withSession(gw, 'GET', '/api/v1/tokens', s, undefined, {
    authorization: `Bearer ${read}`,
  })
  assert.equal(bearer.json().code, 'GW_ERR_SCOPE')
  // a bad header token is not rescued by a good cookie
  const badHeader = await withSession(gw, 'GET', '/api/v1/tokens', s, undefined, {
    'mx-api-token': 'bgt_nope',
  })
  assert.equal(badHeader.statusCode, 401)
  assert.equal(badHeader.json().code, 'GW_ERR_AUTH_INVALID')
  // mx-api-token over Bearer: admin header wins over a read Bearer
  const both = await gw.http.inject({
    method: 'GET',
    url: '/api/v1/tokens',
    headers: { 'mx-api-token': gw.rootToken, authorization: `Bearer ${read}` },
  })
  assert.equal(both.statusCode, 200)
})

test('[HA-10] logout needs the CSRF token, clears the cookie and ends the session', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const s = await login(gw, initial)
  const forged = await withSession(gw, 'POST', '/api/v1/auth/logout', { cookie: s.cookie })
  assert.equal(forged.statusCode, 403)
  assert.equal(forged.json().code, 'GW_ERR_CSRF')
  assert.equal((await withSession(gw, 'GET', '/api/v1/auth/me', s)).statusCode, 200, 'still logged in')
  const out = await withSession(gw, 'POST', '/api/v1/auth/logout', s)
  assert.equal(out.statusCode, 204)
  assert.match(String(out.headers['set-cookie']), /^bg_session=; .*Max-Age=0/)
  assert.equal((await withSession(gw, 'GET', '/api/v1/auth/me', s)).statusCode, 401)
  const twice = await withSession(gw, 'POST', '/api/v1/auth/logout', s)
  assert.equal(twice.statusCode, 204, 'logging out without a live session is harmless')
})

test('[HA-10] failed logins are slowed down: the wait doubles per failure, per username and per address', async (t) => {
  const { gw, initial, lines } = await gatewayWithAdmin(t)
  const attempt = async (username: string, password: string) => {
    const started = Date.now()
    const r = await gw.http.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username, password },
    })
    return { status: r.statusCode, ms: Date.now() - started }
  }
  const measured: number[] = []
  for (let i = 0; i < 4; i++) {
    const r = await attempt('admin', `guess number ${i}`)
    assert.equal(r.status, 401)
    measured.push(r.ms)
  }
  const failed = () => lines.filter((l) => l.msg === 'console login failed')
  assert.deepEqual(
    failed().map((l) => l.waitedMs),
    [0, 250, 500, 1000],
  )
  assert.deepEqual(
    failed().map((l) => l.failures),
    [1, 2, 3, 4],
  )
  t.diagnostic(`measured answer times of 4 failures: ${measured.join(', ')} ms`)
  // another username from the same address waits for the address's failures
  const other = await attempt('someone-else', 'guess')
  assert.equal(other.status, 401)
  assert.equal(failed().at(-1)?.waitedMs, 2000)
  t.diagnostic(`another username, same address: ${other.ms} ms`)
  // the right password still waits, then succeeds and clears the counters
  const ok = await attempt('admin', initial)
  assert.equal(ok.status, 200)
  t.diagnostic(`right password after 5 failures: ${ok.ms} ms`)
  await attempt('admin', 'wrong again')
  assert.equal(failed().at(-1)?.waitedMs, 0, 'a success resets the delay')
  // the log never shows a password
  assert.ok(!JSON.stringify(failed()).includes('guess number'))
})

test('[HA-10] the initial password is logged once; later starts do not repeat it; user set-password resets it', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-console-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
      log: { level: 'silent' },
    },
  })
  const first = logSink('info')
  const gw1 = await startGateway(config, { logger: first.logger })
  await gw1.close()
  const shown = first.lines.filter((l) => /initial password/.test(String(l.msg)))
  assert.equal(shown.length, 1)
  assert.equal(shown[0]?.level, 40, 'at warn level, so it shows with the default log level')
  const initial = /initial password (\S+)/.exec(String(shown[0]?.msg))?.[1] as string

  const second = logSink('info')
  const gw2 = await startGateway(config, { logger: second.logger })
  t.after(() => gw2.close())
  const again = second.lines.map((l) => JSON.stringify(l))
  assert.ok(!again.some((l) => l.includes(initial)), 'the password is not printed again')
  assert.ok(again.some((l) => l.includes('still has its initial password')))
  const s = await login(gw2, initial)

  // the CLI resets the password while the gateway runs: the open session ends, the new password works
  const run = async (argv: string[], stdin: string) => {
    const out = new PassThrough()
    const err = new PassThrough()
    let stdout = ''
    let stderr = ''
    out.on('data', (d: Buffer) => {
      stdout += d
    })
    err.on('data', (d: Buffer) => {
      stderr += d
    })
    const input = new PassThrough()
    input.end(stdin)
    const code = await main(argv, { out, err, in: input } as Parameters<typeof main>[1])
    return { code, stdout, stderr }
  }
  const weak = await run(['user', 'set-password', '--data-dir', dataDir, '--password-stdin'], 'short\n')
  assert.equal(weak.code, 1)
  assert.match(weak.stderr, /GW_ERR_PASSWORD_POLICY/)
  const reset = await run(
    ['user', 'set-password', '--data-dir', dataDir, '--password-stdin'],
    `${NEW_PASSWORD}\n`,
  )
  assert.equal(reset.code, 0, reset.stderr)
  assert.match(reset.stdout, /Password changed: admin/)
  assert.equal((await withSession(gw2, 'GET', '/api/v1/auth/me', s)).statusCode, 401, 'the old session ended')
  const fresh = await login(gw2, NEW_PASSWORD)
  assert.equal(fresh.body.mustChangePassword, false)
  const list = await run(['user', 'list', '--data-dir', dataDir, '--json'], '')
  assert.deepEqual(
    (JSON.parse(list.stdout) as Array<{ username: string }>).map((u) => u.username),
    ['admin'],
  )
})
