/**
 * Cross-site WebSocket hijacking and cross-origin use of the console's session cookie ([HA-3] item 3, [HA-10]):
 * SameSite=Strict does not stop a page of the same site on another port, and a WebSocket upgrade carries no CSRF
 * token. A call authenticated by the session cookie whose Origin is not the gateway's own answers 403
 * GW_ERR_CROSS_ORIGIN; the same origin, no Origin (not a browser page), and token credentials are unaffected.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openWs } from '../helpers/events.ts'
import { gatewayWithAdmin, login, withSession } from './console-helpers.ts'

test('[HA-3][HA-10] a session-cookie WebSocket upgrade from a foreign Origin is refused 403; same origin and tokens open', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const first = await login(gw, initial)
  const changed = await withSession(gw, 'POST', '/api/v1/auth/password', first, {
    current: initial,
    next: 'another Good passphrase 7',
  })
  assert.equal(changed.statusCode, 204, changed.body)
  const session = await login(gw, 'another Good passphrase 7')
  const wsUrl = `${gw.httpUrl.replace('http://', 'ws://')}/api/v1/ws`
  const port = new URL(gw.httpUrl).port
  for (const origin of [
    'http://evil.example',
    `http://127.0.0.1:${Number(port) === 1 ? 2 : 1}`, // same site, another port: SameSite=Strict lets the cookie go
    `http://localhost:${port}`, // another host name
    'null',
  ]) {
    const err = (await openWs(wsUrl, { cookie: session.cookie, origin }).then(
      (c) => {
        c.ws.close()
        return undefined
      },
      (e: unknown) => e,
    )) as { status?: number; body?: string } | undefined
    assert.equal(err?.status, 403, `Origin ${origin}`)
    assert.equal(JSON.parse(err?.body ?? '{}').code, 'GW_ERR_CROSS_ORIGIN')
  }
  // the console's own page: same origin
  const same = await openWs(wsUrl, { cookie: session.cookie, origin: gw.httpUrl })
  same.ws.close()
  // a token client is not concerned by Origin
  const token = await openWs(wsUrl, { 'mx-api-token': gw.rootToken, origin: 'http://evil.example' })
  token.ws.close()
  const query = await openWs(`${wsUrl}?mx-api-token=${encodeURIComponent(gw.rootToken)}`, {
    origin: 'http://evil.example',
  })
  query.ws.close()
})

test('[HA-3] plain calls with the session cookie: a foreign Origin is refused 403, the own Origin or none is served', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const session = await login(gw, initial)
  const host = new URL(gw.httpUrl).host
  const me = (headers: Record<string, string>) =>
    withSession(gw, 'GET', '/api/v1/auth/me', session, undefined, { host, ...headers })
  const foreign = await me({ origin: 'http://evil.example' })
  assert.equal(foreign.statusCode, 403)
  assert.equal(foreign.json().code, 'GW_ERR_CROSS_ORIGIN')
  assert.equal((await me({ origin: gw.httpUrl })).statusCode, 200)
  assert.equal((await me({})).statusCode, 200)
  // behind a TLS-terminating proxy the page is https on the same host and port: host and port decide
  assert.equal((await me({ origin: `https://${host}` })).statusCode, 200)
  // a write from a foreign page is refused before its CSRF token is looked at
  const write = await withSession(
    gw,
    'POST',
    '/api/v1/auth/password',
    session,
    { current: initial, next: 'x' },
    {
      host,
      origin: 'http://evil.example',
    },
  )
  assert.equal(write.statusCode, 403)
  assert.equal(write.json().code, 'GW_ERR_CROSS_ORIGIN')
  // a token call with any Origin is served
  const token = await gw.http.inject({
    method: 'GET',
    url: '/api/v1/bundles',
    headers: { 'mx-api-token': gw.rootToken, origin: 'http://evil.example' },
  })
  assert.equal(token.statusCode, 200)
})

test('[HA-10] no login CSRF: a login posted by a page of another origin is refused 403 before the password is checked', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const host = new URL(gw.httpUrl).host
  const post = (origin: string | undefined) =>
    gw.http.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { host, ...(origin ? { origin } : {}) },
      payload: { username: 'admin', password: initial },
    })
  const foreign = await post('http://evil.example')
  assert.equal(foreign.statusCode, 403)
  assert.equal(foreign.json().code, 'GW_ERR_CROSS_ORIGIN')
  assert.equal(foreign.headers['set-cookie'], undefined, 'no session cookie')
  assert.equal((await post(gw.httpUrl)).statusCode, 200, 'the console itself logs in')
  assert.equal((await post(undefined)).statusCode, 200, 'a client without Origin (curl) logs in')
})
