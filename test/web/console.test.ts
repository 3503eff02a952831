import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { CONSOLE_DIR } from '../../src/web/routes/console.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { gatewayWithAdmin, login, withSession } from './console-helpers.ts'

test('issue 4: security headers on the console page, its assets and API answers', async (t) => {
  const { gw } = await gatewayWithAdmin(t)
  const page = await gw.http.inject({ method: 'GET', url: '/' })
  assert.equal(page.statusCode, 200)
  assert.match(String(page.headers['content-type']), /^text\/html/)
  const csp = String(page.headers['content-security-policy'])
  assert.match(csp, /default-src 'none'/)
  assert.match(csp, /script-src 'self'(;|$)/)
  assert.match(csp, /style-src 'self'(;|$)/)
  assert.match(csp, /frame-ancestors 'none'/)
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|http:|https:/)
  assert.equal(page.headers['x-content-type-options'], 'nosniff')
  assert.equal(page.headers['referrer-policy'], 'no-referrer')
  assert.equal(page.headers['x-frame-options'], 'DENY')
  assert.equal(page.headers['cache-control'], 'no-store')
  // the page has no inline script, style or event handler the CSP would have to allow
  for (const m of page.body.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
    assert.match(m[0], /\ssrc="\/assets\//)
    assert.equal(m[1]?.trim(), '')
  }
  assert.doesNotMatch(page.body, /<style|\sstyle=|\son[a-z]+=/i)
  assert.doesNotMatch(page.body, /https?:\/\//, 'nothing is loaded from elsewhere (works offline)')

  const css = await gw.http.inject({ method: 'GET', url: '/assets/app.css' })
  assert.equal(css.statusCode, 200)
  assert.match(String(css.headers['content-type']), /^text\/css/)
  assert.equal(css.headers['cache-control'], 'no-cache')
  assert.equal(css.headers['x-content-type-options'], 'nosniff')
  const etag = String(css.headers.etag)
  assert.match(etag, /^"[A-Za-z0-9_-]+"$/)
  const again = await gw.http.inject({
    method: 'GET',
    url: '/assets/app.css',
    headers: { 'if-none-match': etag },
  })
  assert.equal(again.statusCode, 304)
  assert.equal(again.body, '')
  const js = await gw.http.inject({ method: 'GET', url: '/assets/js/main.js' })
  assert.match(String(js.headers['content-type']), /^text\/javascript/)
  const missing = await gw.http.inject({ method: 'GET', url: '/assets/tsconfig.json' })
  assert.equal(missing.statusCode, 404, 'only assets are served, not the type-checking config')
  const traversal = await gw.http.inject({ method: 'GET', url: '/assets/../package.json' })
  assert.equal(traversal.statusCode, 404)

  for (const url of ['/api/v1/bundles', '/health', '/nowhere']) {
    const api = await gw.http.inject({ method: 'GET', url })
    assert.equal(api.headers['x-content-type-options'], 'nosniff', url)
    assert.equal(api.headers['x-frame-options'], 'DENY', url)
    assert.equal(api.headers['referrer-policy'], 'no-referrer', url)
    assert.match(
      String(api.headers['content-security-policy']),
      /^default-src 'none'; frame-ancestors 'none'/,
      url,
    )
    assert.equal(api.headers['cache-control'], 'no-store', url)
  }
})

test('issue 8: the console is small, self-contained and loads under 200 KB', async (t) => {
  const files: string[] = []
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name))
      else files.push(join(dir, e.name))
    }
  }
  await walk(CONSOLE_DIR)
  let total = 0
  for (const f of files) {
    if (f.endsWith('tsconfig.json')) continue
    total += (await stat(f)).size
    const text = await readFile(f, 'utf8')
    assert.doesNotMatch(text, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${f} loads nothing from the network`)
  }
  t.diagnostic(`console: ${files.length} files, ${total} bytes in all (everything a first load can fetch)`)
  assert.ok(total < 200 * 1024, `${total} bytes`)
})

test('GET /api/v1/auth/console: admin only; names the root token file [HA-8]', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const none = await gw.http.inject({ method: 'GET', url: '/api/v1/auth/console' })
  assert.equal(none.statusCode, 401)
  const reader = gw.tokens?.create({ description: 'r', scope: 'readwrite' }).secret as string
  const rw = await gw.http.inject({
    method: 'GET',
    url: '/api/v1/auth/console',
    headers: { 'mx-api-token': reader },
  })
  assert.equal(rw.statusCode, 403)
  assert.equal(rw.json().code, 'GW_ERR_SCOPE')
  const root = await gw.http.inject({
    method: 'GET',
    url: '/api/v1/auth/console',
    headers: { 'mx-api-token': gw.rootToken },
  })
  assert.equal(root.statusCode, 200)
  assert.deepEqual(root.json(), { rootTokenFile: gw.tokenFile, sessionIdleSec: 1800, sessionMaxSec: 43200 })
  let s = await login(gw, initial)
  assert.equal((await withSession(gw, 'GET', '/api/v1/auth/console', s)).statusCode, 403, 'must change first')
  await withSession(gw, 'POST', '/api/v1/auth/password', s, { current: initial, next: 'the new password!' })
  s = await login(gw, 'the new password!')
  const viaSession = await withSession(gw, 'GET', '/api/v1/auth/console', s)
  assert.equal(viaSession.statusCode, 200)
  assert.equal(viaSession.json().rootTokenFile, gw.tokenFile)
})

test('GET /api/v1/bundles: request counts and the last error of each bundle', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const bundle = createBundle({
    manifest: {
      name: 'counted',
      version: '1',
      description: 'test',
      role: 'model',
      ttl: 5,
      resources: [{ resource: '/counted/:id', methods: ['get'] }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.get('/counted/:id', (m, response) =>
    m.param.id === 'bad' ? response({ code: 409, data: { message: 'conflicting thing' } }) : { ok: true },
  )
  await bundle.start()
  defer(() => bundle.stop())
  const call = (url: string) =>
    gw.http.inject({ method: 'GET', url, headers: { 'mx-api-token': gw.rootToken } })
  assert.equal((await call('/api/v1/counted/1')).statusCode, 200)
  assert.equal((await call('/api/v1/counted/2')).statusCode, 200)
  assert.equal((await call('/api/v1/counted/bad')).statusCode, 409)
  const list = (await call('/api/v1/bundles')).json() as Array<{
    name: string
    stats: {
      requests: number
      errors: number
      lastError: { at: string; code: number; message: string } | null
    }
  }>
  const counted = list.find((b) => b.name === 'counted')
  assert.ok(counted)
  assert.equal(counted.stats.requests, 3)
  assert.equal(counted.stats.errors, 1)
  assert.equal(counted.stats.lastError?.code, 409)
  assert.match(counted.stats.lastError?.message ?? '', /conflicting thing/)
  assert.ok(!Number.isNaN(Date.parse(counted.stats.lastError?.at ?? '')))
})

test('authentication off: no console logins, me answers an anonymous admin', async (t) => {
  const gw = await startTestGateway({ auth: false })
  t.after(() => gw.close())
  const me = await gw.http.inject({ method: 'GET', url: '/api/v1/auth/me' })
  assert.equal(me.statusCode, 200)
  assert.equal(me.json().username, null)
  assert.equal(me.json().scope, 'admin')
  const loginCall = await gw.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: {} })
  assert.equal(loginCall.statusCode, 405, 'a gateway path, but nothing serves it without users')
  assert.equal(loginCall.json().code, 'GW_ERR_METHOD_NOT_ALLOWED')
  assert.equal((await gw.http.inject({ method: 'GET', url: '/' })).statusCode, 200)
})

test('http.console false: no page, no users database, no logins; tokens work as before', async (t) => {
  const { mkdtemp, rm, access } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { loadConfig } = await import('../../src/config/index.ts')
  const { startGateway } = await import('../../src/server.ts')
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-noconsole-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0, console: false },
      data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
      log: { level: 'silent' },
    },
  })
  const gw = await startGateway(config)
  t.after(() => gw.close())
  assert.equal((await gw.http.inject({ method: 'GET', url: '/' })).statusCode, 404)
  await assert.rejects(access(join(dataDir, 'users.db')))
  const loginCall = await gw.http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: {} })
  assert.equal(loginCall.statusCode, 401, 'no public login route: like any API path, it wants a token')
  const root = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()
  const me = await gw.http.inject({
    method: 'GET',
    url: '/api/v1/auth/me',
    headers: { 'mx-api-token': root },
  })
  assert.deepEqual(me.json(), { username: null, scope: 'admin', mustChangePassword: false, csrfToken: null })
})
