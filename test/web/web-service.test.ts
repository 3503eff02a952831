import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { silentLogger } from '../../src/logger.ts'
import { BundleError, createBundle, type RequestMessage } from '../../src/sdk/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'

/** A gateway and a bundle that records every request it sees. */
async function setup(
  t: { after: (fn: () => Promise<void>) => void },
  options: { auth?: boolean; debug?: boolean } = {},
) {
  const defer = lifo(t)
  const gw = await startTestGateway(options)
  defer(() => gw.close())
  const seen: RequestMessage[] = []
  const bundle = createBundle({
    manifest: {
      name: 'thing',
      version: '1',
      description: 'test',
      role: 'model',
      ttl: 1,
      resources: [
        { resource: '/thing/:id', methods: ['get', 'put', 'post', 'delete'] },
        { resource: '/slow' },
      ],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.route({ resource: '/thing/:id' }, (m, response) => {
    seen.push(m)
    const id = m.param.id
    if (id === 'created') return response({ code: 201, data: { made: true } })
    if (id === 'empty') return response({ code: 204 })
    if (id === 'nodata') return response({ code: 200 })
    if (id === 'text') return response({ code: 409, data: 'conflict text' })
    if (id === 'list') return response({ code: 500, data: [1, 2] })
    if (id === 'weird') return response({ code: 700, data: {} })
    if (id === 'trace')
      return response({ code: 500, data: { message: 'Internal Error.', traceback: 'Traceback…' } })
    if (id === 'own-code') throw new BundleError(422, 'bad value', { code: 'E_VALUE' })
    if (id === 'missing') throw new BundleError(404, 'no such thing')
    return {
      id,
      method: m.method,
      data: m.data ?? null,
      query: m.query as Record<string, string>,
      caller: m.caller ? { ...m.caller } : null,
    }
  })
  bundle.get('/slow', () => new Promise(() => {}))
  await bundle.start()
  defer(() => bundle.stop())
  const inject = (
    method: string,
    url: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    gw.http.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(options.token === undefined
          ? { 'mx-api-token': gw.rootToken }
          : options.token
            ? { 'mx-api-token': options.token }
            : {}),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(options.body === undefined
        ? {}
        : { payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    })
  const token = (scope: 'read' | 'readwrite', expiresInSec?: number) =>
    gw.tokens!.create(
      expiresInSec
        ? { description: `${scope} test`, scope, expiresInSec }
        : { description: `${scope} test`, scope },
    )
  return { gw, seen, inject, token, bundle }
}

describe('web service: request mapping (wire-protocol.md §8.5)', () => {
  test('[WP-51] /api/v1/<path>?<query> becomes a plain request for /<path>?<query> with the body as data [WP-60]', async (t) => {
    const { inject, seen, token } = await setup(t)
    const { token: info, secret } = token('readwrite')
    const r = await inject('PUT', '/api/v1/thing/7?x=1&flag', { token: secret, body: { v: 1 } })
    assert.equal(r.statusCode, 200)
    assert.deepEqual(r.json(), {
      id: '7',
      method: 'put',
      data: { v: 1 },
      query: { x: '1', flag: true },
      caller: { token: info.id, scope: 'readwrite' },
    })
    assert.equal(seen[0]?.resource, '/thing/7?x=1&flag')
    assert.ok(!JSON.stringify(seen[0]?.raw).includes(secret), 'the secret never travels')
    assert.ok(!('tunnel' in (seen[0]?.raw ?? {})), 'a plain request')
    const g = await inject('GET', '/api/v1/thing/8')
    assert.deepEqual(g.json().data, {}, 'no body → data {}')
  })

  test('[WP-49] model codes pass through; 204 has no body; absent data gives {}; error bodies are objects with message and code', async (t) => {
    const { inject } = await setup(t)
    const cases: Array<[string, number, unknown]> = [
      ['created', 201, { made: true }],
      ['nodata', 200, {}],
      ['text', 409, { message: 'conflict text', code: 'GW_ERR_BUNDLE_ERROR' }],
      ['list', 500, { message: 'bundle error', data: [1, 2], code: 'GW_ERR_BUNDLE_ERROR' }],
      ['own-code', 422, { message: 'bad value', code: 'E_VALUE' }],
      ['missing', 404, { message: 'no such thing', code: 'GW_ERR_BUNDLE_ERROR' }],
      [
        'weird',
        502,
        { message: "bundle 'thing' answered with invalid code 700", code: 'GW_ERR_BUNDLE_BAD_RESPONSE' },
      ],
    ]
    for (const [id, status, body] of cases) {
      const r = await inject('GET', `/api/v1/thing/${id}`)
      assert.equal(r.statusCode, status, id)
      assert.deepEqual(r.json(), body, id)
    }
    const empty = await inject('GET', '/api/v1/thing/empty')
    assert.equal(empty.statusCode, 204)
    assert.equal(empty.body, '')
  })

  test('[WP-50] traceback and stack are removed from error bodies unless debug is on', async (t) => {
    const off = await setup(t)
    assert.deepEqual((await off.inject('GET', '/api/v1/thing/trace')).json(), {
      message: 'Internal Error.',
      code: 'GW_ERR_BUNDLE_ERROR',
    })
    const on = await setup(t, { debug: true })
    assert.equal((await on.inject('GET', '/api/v1/thing/trace')).json().traceback, 'Traceback…')
  })

  test('[WP-49] no route → 404 GW_ERR_ROUTE_NOT_FOUND; [WP-48] ttl expiry → 504 GW_ERR_BUNDLE_TIMEOUT', async (t) => {
    const { inject } = await setup(t)
    const nf = await inject('GET', '/api/v1/nobody/here?x=1')
    assert.equal(nf.statusCode, 404)
    assert.deepEqual(nf.json(), {
      message: "no bundle provides '/nobody/here'",
      code: 'GW_ERR_ROUTE_NOT_FOUND',
    })
    const slow = await inject('GET', '/api/v1/slow')
    assert.equal(slow.statusCode, 504)
    assert.deepEqual(slow.json(), {
      message: "bundle 'thing' did not answer within 1000 ms",
      code: 'GW_ERR_BUNDLE_TIMEOUT',
    })
  })

  test('[WP-49] an offline bundle → 503 GW_ERR_BUNDLE_OFFLINE at once', async (t) => {
    const { inject, gw } = await setup(t)
    const c = gw.controller.core.components().find((x) => x.name === 'thing')
    gw.controller.core.clientGone(c?.clientId as string)
    const r = await inject('GET', '/api/v1/thing/1')
    assert.equal(r.statusCode, 503)
    assert.deepEqual(r.json(), { message: "bundle 'thing' is offline", code: 'GW_ERR_BUNDLE_OFFLINE' })
  })

  test('bad bodies: not JSON → 415, invalid JSON → 400, over 1 MiB → 413; none reaches the bundle', async (t) => {
    const { inject, seen } = await setup(t)
    const text = await inject('PUT', '/api/v1/thing/1', {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    })
    assert.equal(text.statusCode, 415)
    assert.equal(text.json().code, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE')
    const bad = await inject('PUT', '/api/v1/thing/1', { body: '{"a":' })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().code, 'GW_ERR_BAD_REQUEST')
    assert.match(bad.json().message, /invalid JSON body/)
    const big = await inject('PUT', '/api/v1/thing/1', { body: { pad: 'x'.repeat(1_048_576) } })
    assert.equal(big.statusCode, 413)
    assert.deepEqual(big.json(), {
      message: 'payload exceeds 1048576 bytes',
      code: 'GW_ERR_PAYLOAD_TOO_LARGE',
    })
    const long = await inject('GET', `/api/v1/${'a'.repeat(1100)}`)
    assert.equal(long.statusCode, 400)
    assert.equal(seen.length, 0)
  })

  test('verbs other than GET, POST, PUT, DELETE → 405; unknown paths outside /api/v1 → 404 GW_ERR_NOT_FOUND', async (t) => {
    const { inject, seen } = await setup(t)
    const patch = await inject('PATCH', '/api/v1/thing/1', { body: {} })
    assert.equal(patch.statusCode, 405)
    assert.deepEqual(patch.json(), { message: 'method not allowed', code: 'GW_ERR_METHOD_NOT_ALLOWED' })
    const nf = await inject('GET', '/nowhere')
    assert.equal(nf.statusCode, 404)
    assert.equal(nf.json().code, 'GW_ERR_NOT_FOUND')
    assert.equal(seen.length, 0)
  })
})

describe('web service: authentication and scopes (http-api.md §2–§3)', () => {
  test('[HA-4] no token → 401 AUTH_REQUIRED with WWW-Authenticate; bad, revoked, expired → 401 AUTH_INVALID; the bundle never sees them', async (t) => {
    const { inject, seen, token, gw } = await setup(t)
    const none = await inject('GET', '/api/v1/thing/1', { token: '' })
    assert.equal(none.statusCode, 401)
    assert.equal(none.json().code, 'GW_ERR_AUTH_REQUIRED')
    assert.match(String(none.headers['www-authenticate']), /^Bearer/)
    const unknown = await inject('GET', '/api/v1/thing/1', { token: `bgt_${'A'.repeat(43)}` })
    assert.equal(unknown.statusCode, 401)
    assert.deepEqual(unknown.json(), { message: 'the API token is unknown', code: 'GW_ERR_AUTH_INVALID' })
    assert.equal(
      (await inject('GET', '/api/v1/thing/1', { token: 'nonsense' })).json().message,
      'the API token is malformed',
    )
    const { token: info, secret } = token('readwrite')
    assert.equal((await inject('GET', '/api/v1/thing/1', { token: secret })).statusCode, 200)
    gw.tokens!.revoke(info.id)
    const revoked = await inject('GET', '/api/v1/thing/1', { token: secret })
    assert.equal(revoked.statusCode, 401)
    assert.equal(revoked.json().message, 'the API token is revoked')
    assert.equal(seen.length, 1, 'only the accepted request reached the bundle')
  })

  test('[HA-3] Authorization: Bearer works too; mx-api-token wins when both are present', async (t) => {
    const { gw, token } = await setup(t)
    const { secret } = token('read')
    const bearer = await gw.http.inject({
      method: 'GET',
      url: '/api/v1/thing/1',
      headers: { authorization: `Bearer ${secret}` },
    })
    assert.equal(bearer.statusCode, 200)
    const both = await gw.http.inject({
      method: 'GET',
      url: '/api/v1/thing/1',
      headers: { 'mx-api-token': 'bad', authorization: `Bearer ${secret}` },
    })
    assert.equal(both.statusCode, 401)
  })

  test('[HA-5] a read token may GET but not write (403 GW_ERR_SCOPE, never reaching the bundle)', async (t) => {
    const { inject, seen, token } = await setup(t)
    const { secret } = token('read')
    assert.equal((await inject('GET', '/api/v1/thing/1', { token: secret })).statusCode, 200)
    for (const method of ['PUT', 'POST', 'DELETE']) {
      const r = await inject(method, '/api/v1/thing/1', { token: secret, body: {} })
      assert.equal(r.statusCode, 403, method)
      assert.equal(r.json().code, 'GW_ERR_SCOPE')
    }
    assert.equal(seen.length, 1)
  })

  test('an expired token is refused', async (t) => {
    const { inject, gw } = await setup(t)
    const created = gw.tokens!.create({ description: 'short', scope: 'read', expiresInSec: 1 })
    await new Promise((r) => setTimeout(r, 1100))
    const r = await inject('GET', '/api/v1/thing/1', { token: created.secret })
    assert.equal(r.statusCode, 401)
    assert.equal(r.json().message, 'the API token is expired')
  })

  test('with authentication off, every call passes and carries no caller', async (t) => {
    const { gw, seen } = await setup(t, { auth: false })
    const r = await gw.http.inject({ method: 'GET', url: '/api/v1/thing/1' })
    assert.equal(r.statusCode, 200)
    assert.equal(r.json().caller, null)
    assert.ok(!('caller' in (seen[0]?.raw ?? {})))
  })
})

describe('web service: gateway resources', () => {
  test('[HA-9] tokens: admin lists, creates (secret shown once), revokes; others get 403', async (t) => {
    const { inject, token } = await setup(t)
    const created = await inject('POST', '/api/v1/tokens', {
      body: { description: 'dashboard', scope: 'read' },
    })
    assert.equal(created.statusCode, 201)
    const body = created.json()
    assert.match(body.token, /^bgt_[A-Za-z0-9_-]{43}$/)
    assert.equal(body.scope, 'read')
    const list = (await inject('GET', '/api/v1/tokens')).json() as Array<Record<string, unknown>>
    const listed = list.find((x) => x.id === body.id)
    assert.deepEqual(Object.keys(listed ?? {}).sort(), [
      'createdAt',
      'description',
      'expiresAt',
      'id',
      'lastUsedAt',
      'rateLimit',
      'revokedAt',
      'scope',
    ])
    // [HA-12] the effective limit of a read token (the defaults: 50/s, burst 100)
    assert.deepEqual(listed?.rateLimit, { perSecond: 50, burst: 100 })
    assert.ok(!JSON.stringify(list).includes(body.token), 'the secret is never listed')
    assert.equal((await inject('DELETE', `/api/v1/tokens/${body.id}`)).statusCode, 204)
    assert.equal((await inject('GET', '/api/v1/thing/1', { token: body.token })).statusCode, 401)
    const missing = await inject('DELETE', '/api/v1/tokens/tk_nothing')
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().code, 'GW_ERR_TOKEN_NOT_FOUND')
    const bad = await inject('POST', '/api/v1/tokens', { body: { description: 'x', scope: 'admin' } })
    assert.equal(bad.statusCode, 400)
    assert.match(bad.json().message, /Expected `scope` to be read or readwrite/)
    const { secret } = token('readwrite')
    const denied = await inject('GET', '/api/v1/tokens', { token: secret })
    assert.equal(denied.statusCode, 403)
    assert.equal(denied.json().code, 'GW_ERR_SCOPE')
  })

  test('[HA-11] GET /api/v1/bundles lists components with resources and methods; bundles can never register gateway resources', async (t) => {
    const { inject, token, gw } = await setup(t)
    const { secret } = token('read')
    const r = await inject('GET', '/api/v1/bundles', { token: secret })
    assert.equal(r.statusCode, 200)
    const thing = (r.json() as Array<Record<string, unknown>>).find((b) => b.name === 'thing')
    assert.deepEqual(
      { ...thing, registeredAt: typeof thing?.registeredAt },
      {
        name: 'thing',
        role: 'model',
        description: 'test',
        resources: [
          { resource: '/thing/+', methods: ['get', 'put', 'post', 'delete'] },
          { resource: '/slow', methods: null },
        ],
        ttl: 1,
        online: true,
        registeredAt: 'string',
        hook: [],
        stats: { requests: 0, errors: 0, lastError: null },
      },
    )
    // a registration listing a gateway resource is refused with 409, whatever the role
    for (const [name, role, resources] of [
      ['intruder', 'model', ['/tokens']],
      ['peeker', 'view', ['/bundles/+']],
    ] as const) {
      gw.controller.core.handleMessage(
        '/controller',
        JSON.stringify({
          id: 77,
          method: 'post',
          resource: '/controller/registration',
          data: { name, description: 'd', role, ttl: 1, resources },
        }),
      )
      assert.ok(!gw.controller.core.components().some((c) => c.name === name), name)
    }
    assert.equal((await inject('GET', '/api/v1/bundles', { token: secret })).statusCode, 200)
  })

  test("[HA-5] the controller's own resources are admin only: a readwrite token cannot deregister a bundle", async (t) => {
    const { inject, token, gw } = await setup(t)
    const { secret } = token('readwrite')
    const denied = await inject('DELETE', '/api/v1/controller/registration/thing', { token: secret })
    assert.equal(denied.statusCode, 403)
    assert.equal(denied.json().code, 'GW_ERR_SCOPE')
    assert.ok(gw.controller.core.components().some((c) => c.name === 'thing'))
    const dep = await inject('GET', '/api/v1/controller/resource/dependency?resource=/thing/1')
    assert.equal(dep.statusCode, 200, 'the root token may')
    assert.deepEqual(
      dep.json(),
      { resources: ['/thing/+', '/slow'] },
      'every pattern of the matching model (§5.10)',
    )
  })

  test("[HA-11][WP-62] a method the gateway does not serve on its own paths is 405, never forwarded; a '/+' model cannot even register", async (t) => {
    const { inject, gw } = await setup(t)
    const refused = await gw.controller.core.request({
      method: 'post',
      resource: '/controller/registration/catchall',
      data: { description: 'd', role: 'model', ttl: 1, resources: ['/+'] },
    })
    assert.equal(refused.message.code, 400, 'a catch-all model is refused (§8.2a)')
    let reached = 0
    const wide = createBundle({
      manifest: {
        name: 'wide',
        version: '1',
        description: 'd',
        role: 'model',
        ttl: 1,
        resources: [{ resource: '/anything/:any' }],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    wide.route({ resource: '/anything/:any' }, () => {
      reached++
      return { own: true }
    })
    await wide.start()
    t.after(() => wide.stop())
    for (const [method, url] of [
      ['PUT', '/api/v1/tokens'],
      ['PATCH', '/api/v1/bundles'],
      ['POST', '/api/v1/events'],
      ['DELETE', '/api/v1/ws'],
      ['POST', '/api/v1/openapi.json'],
    ]) {
      const r = await inject(method as string, url as string, { body: {} })
      assert.equal(r.statusCode, 405, `${method} ${url}`)
    }
    assert.equal(reached, 0)
    assert.equal(
      (await inject('GET', '/api/v1/anything/x')).statusCode,
      200,
      'a wide model serves its own paths',
    )
    assert.equal(reached, 1)
  })

  test('GET /health needs no token; GET /ready says ready', async (t) => {
    const { gw } = await setup(t)
    assert.deepEqual((await gw.http.inject({ method: 'GET', url: '/health' })).json(), { status: 'ok' })
    const ready = await gw.http.inject({ method: 'GET', url: '/ready' })
    assert.equal(ready.statusCode, 200)
    assert.deepEqual(ready.json(), { status: 'ready' })
  })
})
