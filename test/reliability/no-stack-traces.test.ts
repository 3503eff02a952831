/**
 * Issue 4, item 4: no stack traces in responses unless the debug flag is set ([WP-50], [HA-12]) — for errors the
 * gateway raises itself and for error bodies bundles send (the SDK's `traceback`, any bundle's `stack`).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Fastify from 'fastify'
import { GatewayError } from '../../src/errors.ts'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { loadConfig, startGateway } from '../../src/server.ts'
import { installErrorHandlers } from '../../src/web/error-handler.ts'
import { lifo, logSink, startTestGateway } from '../helpers/gateway.ts'

const STACK_LINE = /\n\s+at /

test('[HA-12] a gateway-originated 500 (the token store closed under the running web service) is {message, code}; the stack only with debug', async (t) => {
  const defer = lifo(t)
  for (const debug of [false, true]) {
    const gw = await startTestGateway({ debug })
    defer(() => gw.close())
    gw.tokens!.close()
    const res = await gw.http.inject({
      method: 'GET',
      url: '/api/v1/tokens',
      headers: { 'mx-api-token': gw.rootToken },
    })
    assert.equal(res.statusCode, 500)
    const body = res.json() as Record<string, unknown>
    assert.equal(body.code, 'GW_ERR_TOKEN_STORE')
    assert.match(String(body.message), /is closed/)
    if (debug) {
      assert.match(String(body.stack), STACK_LINE, 'debug: the stack is sent')
    } else {
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message'])
      assert.doesNotMatch(res.body, STACK_LINE)
    }
  }
})

test('[HA-12] an unexpected exception in a route answers 500 GW_ERR_INTERNAL without the stack, which goes to the log; with debug the stack is sent', async (t) => {
  const defer = lifo(t)
  for (const debug of [false, true]) {
    const sink = logSink('error')
    const app = Fastify()
    defer(() => app.close())
    installErrorHandlers(app, sink.logger, debug)
    app.get('/boom', async () => {
      const missing = JSON.parse('null') as { field: { deeper: string } }
      return missing.field.deeper // a real TypeError
    })
    const res = await app.inject({ method: 'GET', url: '/boom' })
    assert.equal(res.statusCode, 500)
    const body = res.json() as Record<string, unknown>
    assert.equal(body.code, 'GW_ERR_INTERNAL')
    assert.equal(body.message, 'internal server error', 'the TypeError text is not sent either')
    const logged = sink.lines.find((l) => l.msg === 'request failed')
    assert.match(String((logged?.err as { stack?: string })?.stack), /TypeError/, 'the log keeps the stack')
    if (debug) assert.match(String(body.stack), /TypeError[\s\S]*\n\s+at /)
    else {
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message'])
      assert.doesNotMatch(res.body, /TypeError|\n\s+at /)
    }
  }
})

test('[WP-50] bundle error bodies: the SDK traceback of a throwing handler and a `stack` field are removed unless the gateway runs with debug', async (t) => {
  const defer = lifo(t)
  for (const debug of [false, true]) {
    const gw = await startTestGateway({ debug })
    defer(() => gw.close())
    // the bundle itself runs in debug mode: it does send its traceback
    const bundle = createBundle({
      manifest: {
        name: 'crashy',
        version: '1',
        description: 'answers errors with stack traces',
        role: 'model',
        ttl: 5,
        resources: [{ resource: '/crashy/:what', methods: ['get'] }],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
      debug: true,
    })
    bundle.route({ resource: '/crashy/:what' }, (m, response) => {
      if (m.param.what === 'throw') {
        const missing = JSON.parse('null') as { field: string[] }
        return missing.field.length // a real TypeError, answered 500 with `traceback` by the SDK
      }
      return response({
        code: 503,
        data: { message: 'not now', stack: new Error('inside the bundle').stack ?? '' },
      })
    })
    await bundle.start()
    defer(() => bundle.stop())
    const get = async (what: string) => {
      const res = await gw.http.inject({
        method: 'GET',
        url: `/api/v1/crashy/${what}`,
        headers: { 'mx-api-token': gw.rootToken },
      })
      return { status: res.statusCode, raw: res.body, body: res.json() as Record<string, unknown> }
    }
    const thrown = await get('throw')
    assert.equal(thrown.status, 500)
    assert.equal(thrown.body.code, 'GW_ERR_BUNDLE_ERROR')
    const stacked = await get('stack')
    assert.equal(stacked.status, 503)
    assert.equal(stacked.body.message, 'not now')
    if (debug) {
      assert.match(String(thrown.body.traceback), /TypeError[\s\S]*\n\s+at /)
      assert.match(String(stacked.body.stack), /inside the bundle/)
    } else {
      assert.deepEqual(thrown.body, { message: 'Internal Error.', code: 'GW_ERR_BUNDLE_ERROR' })
      assert.deepEqual(stacked.body, { message: 'not now', code: 'GW_ERR_BUNDLE_ERROR' })
      for (const r of [thrown, stacked]) assert.doesNotMatch(r.raw, /\n\s+at |traceback|"stack"/)
    }
  }
})

test('issue 12: a start-up failure is a GatewayError with a code, not a raw errno stack, and the start unwinds (busy HTTP port: the broker port is free again)', async (t) => {
  const busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => busy.close(() => resolve())))
  const httpPort = (busy.address() as { port: number }).port
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const brokerPort = (probe.address() as { port: number }).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const dir = await mkdtemp(join(tmpdir(), 'bg-nostack-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: brokerPort },
      http: { host: '127.0.0.1', port: httpPort },
      data: { dir, tokenFile: join(dir, 'mx-api-token') },
      log: { level: 'silent' },
    },
  })
  await assert.rejects(startGateway(config), (err: unknown) => {
    assert.ok(err instanceof GatewayError, `a GatewayError, got ${String(err)}`)
    assert.equal(err.code, 'GW_ERR_HTTP_LISTEN')
    assert.doesNotMatch(err.message, STACK_LINE)
    return true
  })
  // unwound: the broker that had started is closed, its port can be bound again
  const again = createServer()
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject)
    again.listen(brokerPort, '127.0.0.1', resolve)
  })
  await new Promise<void>((resolve) => again.close(() => resolve()))
})
