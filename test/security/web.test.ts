/**
 * Red-team tests of the web service (issue 12): DNS rebinding (the Host check), absolute-form request targets, the
 * bodies of Node's parser errors, the password policy, and login fairness. Each case failed on the commit before
 * the fix. Gateways run on 127.0.0.1, on free ports; raw requests go over a TCP socket to it.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { main } from '../../src/cli/main.ts'
import { silentLogger } from '../../src/logger.ts'
import { createBundle, type RequestMessage } from '../../src/sdk/index.ts'
import type { Gateway } from '../../src/server.ts'
import { consoleService } from '../helpers/console-service.ts'
import { openWs } from '../helpers/events.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { openSocket, rawRequest } from '../helpers/raw-http.ts'
import { gatewayWithAdmin, login, withSession } from '../web/console-helpers.ts'

const execFileP = promisify(execFile)
const portOf = (gw: Gateway) => Number(new URL(gw.httpUrl).port)

/** A real HTTP request to the gateway with the headers as given (Host included). */
function call(
  gw: Gateway,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: portOf(gw),
        method,
        path,
        headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => {
          text += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}

/** A gateway whose admin has changed the initial password, and a live console session of that admin. */
async function adminSession(t: { after: (fn: () => Promise<void>) => void }) {
  const { gw, initial } = await gatewayWithAdmin(t)
  const first = await login(gw, initial)
  const changed = await withSession(gw, 'POST', '/api/v1/auth/password', first, {
    current: initial,
    next: 'a rebinding-proof passphrase 9',
  })
  assert.equal(changed.statusCode, 204, changed.body)
  return { gw, session: await login(gw, 'a rebinding-proof passphrase 9') }
}

test('[HA-14] DNS rebinding: a page of evil.example driving the console session (Host and Origin evil.example) gets 421, no token is made', async (t) => {
  const { gw, session } = await adminSession(t)
  const port = portOf(gw)
  const evil = `evil.example:${port}`
  const before = (await gw.tokens?.list())?.length
  const r = await call(
    gw,
    'POST',
    '/api/v1/tokens',
    { host: evil, origin: `http://${evil}`, cookie: session.cookie, 'x-csrf-token': session.csrf },
    { description: 'rebound', scope: 'readwrite' },
  )
  assert.equal(r.status, 421, r.body)
  assert.equal(JSON.parse(r.body).code, 'GW_ERR_HTTP_HOST_NOT_ALLOWED')
  assert.equal((await gw.tokens?.list())?.length, before, 'no token was created')
  // before authentication: a token, or no credential at all, get the same answer (credentials are not read)
  for (const headers of [{ 'mx-api-token': gw.rootToken }, {}]) {
    const g = await call(gw, 'GET', '/api/v1/bundles', { host: evil, ...headers })
    assert.equal(g.status, 421)
    assert.equal(JSON.parse(g.body).code, 'GW_ERR_HTTP_HOST_NOT_ALLOWED')
  }
  // the WebSocket upgrade goes through the same check
  const ws = await openWs(`ws://127.0.0.1:${port}/api/v1/ws`, {
    host: evil,
    origin: `http://${evil}`,
    cookie: session.cookie,
  }).then(
    async (c) => {
      await c.close()
      return undefined
    },
    (e: unknown) => e as { status?: number; body?: string },
  )
  assert.equal(ws?.status, 421)
  assert.equal(JSON.parse(ws?.body ?? '{}').code, 'GW_ERR_HTTP_HOST_NOT_ALLOWED')
  // the gateway's own names still work, with the session (same Origin) and with the token
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST.:${port}`]) {
    const me = await call(gw, 'GET', '/api/v1/auth/me', { host, cookie: session.cookie })
    assert.equal(me.status, 200, `Host ${host}: ${me.body}`)
    const b = await call(gw, 'GET', '/api/v1/bundles', { host, 'mx-api-token': gw.rootToken })
    assert.equal(b.status, 200, `Host ${host}`)
  }
  const origin = `http://127.0.0.1:${port}`
  const made = await call(
    gw,
    'POST',
    '/api/v1/tokens',
    { host: `127.0.0.1:${port}`, origin, cookie: session.cookie, 'x-csrf-token': session.csrf },
    { description: 'own page', scope: 'read' },
  )
  assert.equal(made.status, 201, made.body)
})

test('[HA-14] the names a gateway answers to: loopback, IP literals, http.host, the machine name on a wildcard, http.allowedHosts', async () => {
  const { allowedHostSet, hostRefusal } = await import('../../src/web/host-check.ts')
  const onLoopback = allowedHostSet({ listenHost: '127.0.0.1', allowedHosts: '', machineNames: ['edge-7'] })
  const onAll = allowedHostSet({ listenHost: '0.0.0.0', allowedHosts: '', machineNames: ['edge-7'] })
  const listed = allowedHostSet({
    listenHost: '127.0.0.1',
    allowedHosts: 'gw.example, proxy.example:8443',
    machineNames: [],
  })
  const named = allowedHostSet({ listenHost: 'gateway.lan', allowedHosts: '' })
  const status = (host: string, set: typeof onAll) => hostRefusal(host, set)?.status ?? 200
  for (const host of [
    'localhost',
    'localhost:8080',
    '127.0.0.1:8080',
    '[::1]:8080',
    '192.0.2.7',
    '[2001:db8::1]',
  ])
    assert.equal(status(host, onLoopback), 200, host)
  assert.equal(status('edge-7:8080', onLoopback), 421, 'the machine name only on a wildcard listen address')
  assert.equal(status('edge-7:8080', onAll), 200)
  assert.equal(status('EDGE-7.local', onAll), 200)
  assert.equal(status('gateway.lan:8080', named), 200)
  assert.equal(status('gw.example', listed), 200)
  assert.equal(status('gw.example:9', listed), 200)
  assert.equal(status('proxy.example:8443', listed), 200)
  assert.equal(status('proxy.example:80', listed), 421, 'an entry with a port allows that port only')
  for (const host of ['evil.example', 'localhost.evil.example', '127.0.0.1.nip.io', '2130706433', 'edge-7x'])
    assert.equal(status(host, onAll), 421, host)
  for (const host of ['', 'a b', 'user@localhost', 'localhost:99999', '[zz::1]', 'localhost:'])
    assert.equal(status(host, onAll), 400, JSON.stringify(host))
  assert.equal(
    status('anything.example', allowedHostSet({ listenHost: '127.0.0.1', allowedHosts: '*' })),
    200,
  )
})

test('[HA-14] RFC 9112 §3.2: several Host lines, or none on HTTP/1.1, are 400 GW_ERR_HTTP_HOST_INVALID with the JSON body', async (t) => {
  const { gw } = await gatewayWithAdmin(t)
  const port = portOf(gw)
  const token = `mx-api-token: ${gw.rootToken}\r\n`
  const two = await rawRequest(
    port,
    `GET /api/v1/bundles HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil\r\n${token}\r\n`,
  )
  assert.equal(two.status, 400, two.raw)
  assert.equal(JSON.parse(two.body).code, 'GW_ERR_HTTP_HOST_INVALID')
  const none = await rawRequest(port, `GET /api/v1/bundles HTTP/1.1\r\n${token}\r\n`)
  assert.equal(none.status, 400, none.raw)
  assert.equal(JSON.parse(none.body).code, 'GW_ERR_HTTP_HOST_INVALID')
  // HTTP/1.0 may omit it (no browser does)
  const old = await rawRequest(port, `GET /api/v1/bundles HTTP/1.0\r\n${token}\r\n`)
  assert.equal(old.status, 200, old.raw)
})

test('[HA-2][WP-25] an absolute-form target is mapped by its path (RFC 9112 §3.2.2), and its authority is checked like Host', async (t) => {
  const defer = lifo(t)
  const { gw } = await gatewayWithAdmin(t)
  const seen: RequestMessage[] = []
  const bundle = createBundle({
    manifest: {
      name: 'thing',
      version: '1',
      description: 'test',
      role: 'model',
      ttl: 2,
      resources: [{ resource: '/thing/:id' }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.get('/thing/:id', (m) => {
    seen.push(m)
    return { id: m.param.id ?? null }
  })
  await bundle.start()
  defer(() => bundle.stop())
  const port = portOf(gw)
  const token = `mx-api-token: ${gw.rootToken}\r\n`
  const r = await rawRequest(
    port,
    `GET http://127.0.0.1:${port}/api/v1/thing/7?x=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${token}\r\n`,
  )
  assert.equal(r.status, 200, r.raw)
  assert.deepEqual(JSON.parse(r.body), { id: '7' })
  assert.equal(seen.at(-1)?.resource, '/thing/7?x=1')
  // the target's authority replaces Host: a foreign one is refused, whatever Host says
  const foreign = await rawRequest(
    port,
    `GET http://x/api/v1/thing/7 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${token}\r\n`,
  )
  assert.equal(foreign.status, 421, foreign.raw)
  assert.equal(JSON.parse(foreign.body).code, 'GW_ERR_HTTP_HOST_NOT_ALLOWED')
  const userinfo = await rawRequest(
    port,
    `GET http://a@127.0.0.1/api/v1/thing/7 HTTP/1.1\r\nHost: x\r\n${token}\r\n`,
  )
  assert.equal(userinfo.status, 400, userinfo.raw)
  assert.equal(JSON.parse(userinfo.body).code, 'GW_ERR_HTTP_HOST_INVALID')
  // no request for `x/api/v1/…` (or anything but /thing/7) ever reached the bundle
  assert.ok(
    seen.every((m) => m.resource.startsWith('/thing/7')),
    JSON.stringify(seen.map((m) => m.resource)),
  )
})

test("[HA-12] Node's parser errors answer the documented {message, code}: 400, 431, and fastify's own errors too", async (t) => {
  const { gw } = await gatewayWithAdmin(t)
  const port = portOf(gw)
  const host = `Host: 127.0.0.1:${port}\r\n`
  const token = `mx-api-token: ${gw.rootToken}\r\n`
  const cases: Array<[string, string, number, string]> = [
    ['a broken request line', 'GARBAGE\r\n\r\n', 400, 'GW_ERR_HTTP_BAD_REQUEST'],
    [
      'a header with a space in its name',
      `GET /health HTTP/1.1\r\n${host}Bad Header: x\r\n\r\n`,
      400,
      'GW_ERR_HTTP_BAD_REQUEST',
    ],
    [
      'a bad chunk size',
      `POST /api/v1/tokens HTTP/1.1\r\n${host}${token}content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n`,
      400,
      'GW_ERR_HTTP_BAD_REQUEST',
    ],
    [
      '20 KB of headers',
      `GET /health HTTP/1.1\r\n${host}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'GW_ERR_HTTP_HEADERS_TOO_LARGE',
    ],
    [
      'Content-Length and chunked together',
      `POST /api/v1/tokens HTTP/1.1\r\n${host}content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n{}`,
      400,
      'GW_ERR_HTTP_BAD_REQUEST',
    ],
    // fastify's own, mapped by the error handler (these already had the body)
    [
      'a text body',
      `POST /api/v1/tokens HTTP/1.1\r\n${host}${token}content-type: text/plain\r\ncontent-length: 2\r\n\r\nhi`,
      415,
      'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'broken JSON',
      `POST /api/v1/tokens HTTP/1.1\r\n${host}${token}content-type: application/json\r\ncontent-length: 2\r\n\r\n{x`,
      400,
      'GW_ERR_BAD_REQUEST',
    ],
    [
      'a body over 1 MiB',
      `POST /api/v1/tokens HTTP/1.1\r\n${host}${token}content-type: application/json\r\ncontent-length: 2000000\r\n\r\n{}`,
      413,
      'GW_ERR_PAYLOAD_TOO_LARGE',
    ],
  ]
  for (const [what, text, status, code] of cases) {
    const r = await rawRequest(port, text)
    assert.equal(r.status, status, `${what}: ${r.raw.slice(0, 300)}`)
    assert.match(r.headers['content-type'] ?? '', /^application\/json/, what)
    const body = JSON.parse(r.body) as Record<string, unknown>
    assert.equal(body.code, code, what)
    assert.equal(typeof body.message, 'string', what)
    assert.deepEqual(Object.keys(body).sort(), ['code', 'message'], what)
  }
})

test('[HA-10] password policy: repeated characters, sequences, the username and the most common passwords are refused, in the console and the CLI', async (t) => {
  const { gw, initial } = await gatewayWithAdmin(t)
  const s = await login(gw, initial)
  const refused = [
    'aaaaaaaaaa',
    '0000000000000',
    'abcdefghijkl',
    '9876543210',
    'qwertyuiop',
    'abcabcabcabc',
    'Password123',
    'iloveyou12',
    '1q2w3e4r5t',
    'admin12345',
    'Bundlegate!',
  ]
  for (const next of refused) {
    const r = await withSession(gw, 'POST', '/api/v1/auth/password', s, { current: initial, next })
    assert.equal(r.statusCode, 400, `${next}: ${r.body}`)
    assert.equal(r.json().code, 'GW_ERR_PASSWORD_POLICY', next)
  }
  // the CLI applies the same policy
  const out = new PassThrough()
  const err = new PassThrough()
  let stderr = ''
  err.on('data', (d: Buffer) => {
    stderr += d
  })
  const input = new PassThrough()
  input.end('football12\n')
  const code = await main(['user', 'set-password', '--data-dir', gw.dataDir, '--password-stdin'], {
    out,
    err,
    in: input,
  } as Parameters<typeof main>[1])
  assert.equal(code, 1)
  assert.match(stderr, /GW_ERR_PASSWORD_POLICY/)
  assert.match(stderr, /most common passwords/)
  const ok = await withSession(gw, 'POST', '/api/v1/auth/password', s, {
    current: initial,
    next: 'Kettle orbit 42 lantern',
  })
  assert.equal(ok.statusCode, 204, ok.body)
})

test('[HA-10] the common-password list is read only when a password is set, not at start', async () => {
  // a fresh process: the module state of this one has seen passwords set already
  const script = [
    "import { mkdtempSync } from 'node:fs'",
    "import { tmpdir } from 'node:os'",
    "import { join } from 'node:path'",
    "import { openConsoleUsers, passwordProblem } from './src/users/index.ts'",
    "import { commonPasswordsLoaded } from './src/users/common-passwords.ts'",
    "import { silentLogger } from './src/logger.ts'",
    "const cu = await openConsoleUsers(mkdtempSync(join(tmpdir(), 'bg-lazy-')), { sessionIdleSec: 60, sessionMaxSec: 60 }, silentLogger())",
    'await cu.ensureInitialAdmin()',
    'const before = commonPasswordsLoaded()',
    "const problem = passwordProblem('manchester', 'admin')",
    'console.log(JSON.stringify({ before, after: commonPasswordsLoaded(), problem }))',
    'cu.users.close()',
  ].join('\n')
  const { stdout } = await execFileP(
    process.execPath,
    ['--conditions=bundlegate-dev', '--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: new URL('../../', import.meta.url) },
  )
  const out = JSON.parse(stdout.trim().split('\n').at(-1) as string)
  assert.deepEqual(out, { before: false, after: true, problem: 'it is one of the most common passwords' })
})

test("[HA-10] login fairness: 20 parallel guesses from one address neither delay the admin's login from another address nor queue it behind their password checks", async (t) => {
  const { gate, throttle, login: loginFrom, initial } = await consoleService(t)
  gate.hold = true
  const flood = Array.from({ length: 20 }, (_, i) => loginFrom('admin', `guess ${i}`, '10.66.0.1'))
  await waitFor(() => gate.held.length === 1, 5000, "the guesser's attempts waiting their delay")
  const waiting = throttle.pending
  // the real admin, from an address without failures: answered at once, while every guess still waits
  let admin: Awaited<ReturnType<typeof loginFrom>> | undefined
  const answered = loginFrom('admin', initial.password, '10.77.0.1').then((r) => {
    admin = r
  })
  await waitFor(() => admin !== undefined || gate.held.length > 1, 10_000, "the admin's answer or wait")
  assert.equal(gate.held.length, 1, "no delay was asked for the admin's attempt")
  await answered
  assert.equal(admin?.statusCode, 200, admin?.body)
  assert.equal(throttle.pending, waiting, "the guesses are all still waiting: the admin's check went first")
  gate.releaseAll()
  const statuses = (await Promise.all(flood)).map((r) => r.statusCode)
  assert.ok(
    statuses.every((s) => s === 401 || s === 429),
    statuses.join(','),
  )
})

test('[HA-10] login fairness behind one address (NAT): a browser that logged in before is not held up by guesses from its own address', async (t) => {
  const { gate, throttle, login: loginFrom, initial } = await consoleService(t)
  const nat = '10.88.0.1'
  const first = await loginFrom('admin', initial.password, nat)
  assert.equal(first.statusCode, 200, first.body)
  const device = String(first.headers['set-cookie'])
    .split(/,\s*(?=bg_)/)
    .find((c) => c.startsWith('bg_device='))
    ?.split(';')[0]
  assert.ok(device, 'a successful login sets the device cookie')
  for (let i = 0; i < 3; i++) assert.equal((await loginFrom('admin', `wrong ${i}`, nat)).statusCode, 401)
  gate.hold = true
  const flood = Array.from({ length: 20 }, (_, i) => loginFrom('admin', `guess ${i}`, nat))
  await waitFor(() => gate.held.length === 1 && throttle.pending === 8, 5000, "the address's full queue")
  // without the device cookie, the same address waits its turn (here: its queue is full, 429)
  const stranger = await loginFrom('admin', initial.password, nat)
  assert.equal(stranger.statusCode, 429)
  const admin = await loginFrom('admin', initial.password, nat, device)
  assert.equal(admin.statusCode, 200, admin.body)
  assert.equal(gate.held.length, 1, 'the trusted attempt waited no delay')
  // a wrong password with the device cookie forgets the device
  gate.releaseAll()
  await Promise.all(flood)
  assert.equal((await loginFrom('admin', 'wrong again', nat, device)).statusCode, 401)
  gate.hold = true
  const after = loginFrom('admin', initial.password, nat, device)
  await waitFor(() => gate.held.length === 1, 5000, 'the forgotten device waiting like the address')
  gate.releaseAll()
  assert.equal((await after).statusCode, 200)
})

test("[HA-10] login fairness in the password-check line: a clean address's check starts while guesses' scrypt checks run and wait", async () => {
  const { LoginThrottle } = await import('../../src/users/index.ts')
  const throttle = new LoginThrottle({ maxChecks: 2, sleep: async () => {} })
  const guessers = ['10.66.0.1', '10.66.0.2', '10.66.0.3']
  // each guessing address has failed once already
  for (const ip of guessers) await throttle.attempt('admin', ip, async () => undefined)
  const started: string[] = []
  const release: Array<() => void> = []
  const blockingCheck = (who: string) => async () => {
    started.push(who)
    await new Promise<void>((r) => release.push(r))
    return undefined
  }
  const guesses = guessers.map((ip) => throttle.attempt('admin', ip, blockingCheck(ip)))
  await waitFor(() => started.length >= 1, 5000, 'a guess to be checked')
  await new Promise((r) => setImmediate(r))
  // the admin, from an address without failures, is checked now, not after the guesses ahead of it in line
  const admin = throttle.attempt('admin', '10.77.0.1', async () => {
    started.push('admin')
    return { username: 'admin' }
  })
  await waitFor(() => started.includes('admin') || started.length >= 3, 5000, 'the next check to start')
  assert.ok(started.includes('admin'), `checks started: ${started.join(', ')}`)
  const result = await admin
  assert.deepEqual([result.value, result.waitedMs, result.refused], [{ username: 'admin' }, 0, false])
  while (release.length > 0 || throttle.pending > 0) {
    for (const r of release.splice(0)) r()
    await new Promise((r) => setImmediate(r))
  }
  await Promise.all(guesses)
})

test('[HA-12] a request that arrives while the web service closes answers 503 GW_ERR_UNAVAILABLE with the documented body', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  let answer: (() => void) | undefined
  const bundle = createBundle({
    manifest: {
      name: 'slowpoke',
      version: '1',
      description: 'test',
      role: 'model',
      ttl: 10,
      resources: [{ resource: '/slowpoke' }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.get('/slowpoke', () => new Promise((resolve) => (answer = () => resolve({ done: true }))))
  await bundle.start()
  defer(() => bundle.stop())
  const port = portOf(gw)
  const head = `Host: 127.0.0.1:${port}\r\nmx-api-token: ${gw.rootToken}\r\n`
  const socket = await openSocket(port)
  defer(() => socket.socket.destroy())
  // a slow request is in progress when the web service starts closing; a second one arrives on that connection
  socket.socket.write(`GET /api/v1/slowpoke HTTP/1.1\r\n${head}\r\n`)
  await waitFor(() => answer !== undefined, 5000, 'the slow request to reach the bundle')
  const closed = gw.http.close()
  // the server stops listening after the preClose hooks: the web service is closing from then on
  await waitFor(() => !gw.http.server.listening, 5000, 'the web service to start closing')
  socket.socket.write(`GET /api/v1/bundles HTTP/1.1\r\n${head}\r\n`)
  await new Promise((r) => setTimeout(r, 100))
  answer?.()
  await waitFor(() => socket.closed(), 5000, 'the connection to end')
  await closed
  const text = socket.received()
  const second = text.slice(text.indexOf('HTTP/1.1', 10))
  assert.match(text, /^HTTP\/1\.1 200 /)
  assert.match(second, /^HTTP\/1\.1 503 /, text)
  assert.deepEqual(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)), {
    message: 'the gateway is stopping',
    code: 'GW_ERR_UNAVAILABLE',
  })
})
