/**
 * A handler that throws one of our own errors (src/errors.ts, e.g. ConfigStore's GW_ERR_STORE_WRITE on a full disk)
 * is answered with that error's HTTP status and `{message, code}`, so the HTTP caller sees the cause. Stack traces
 * stay debug-only [WP-50]; any other exception is still `500 Internal Error.`.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, type TestContext, test } from 'node:test'
import { createError, ERRORS } from '../../src/errors.ts'
import { silentLogger } from '../../src/logger.ts'
import { ConfigStore, createBundle } from '../../src/sdk/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'

async function setup(t: TestContext, debug: boolean) {
  const defer = lifo(t)
  const gw = await startTestGateway({ debug })
  defer(() => gw.close())
  const bundle = createBundle({
    manifest: {
      name: 'faulty',
      version: '1',
      description: 'throws our errors',
      role: 'model',
      ttl: 5,
      resources: [{ resource: '/faulty/+', methods: ['get', 'put'] }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
    debug,
  })
  const dir = await mkdtemp(join(tmpdir(), 'bg-gwerr-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  bundle.put('/faulty/store', async () => {
    // A real store write that fails: its data directory is gone (ENOENT), as a full disk fails with ENOSPC.
    await mkdir(join(dir, 'data'), { recursive: true })
    const store = await ConfigStore.open('faulty', dir, { defaults: { n: 0 }, logger: silentLogger() })
    await rm(dir, { recursive: true, force: true })
    try {
      await store.replace({ n: 1 })
    } finally {
      await store.close()
    }
    return { saved: true }
  })
  bundle.get('/faulty/invalid', () => {
    throw createError('GW_ERR_COLLECTION_INVALID', ['name must be a string'])
  })
  bundle.get('/faulty/plain', () => {
    throw new Error('not ours')
  })
  await bundle.start()
  defer(() => bundle.stop())
  const http = async (method: 'GET' | 'PUT', path: string) => {
    const r = await gw.http.inject({
      method,
      url: `/api/v1${path}`,
      headers: { 'mx-api-token': gw.rootToken },
      ...(method === 'PUT' ? { payload: {} } : {}),
    })
    return { status: r.statusCode, body: r.json() as Record<string, unknown> }
  }
  return { gw, http }
}

describe('a GatewayError thrown by a handler reaches the caller with its own status and code', () => {
  test('GW_ERR_STORE_WRITE from a failing ConfigStore save: its status and message over the wire and over HTTP; no stack', async (t) => {
    const { gw, http } = await setup(t, false)
    const wire = await gw.controller.core.request({ method: 'put', resource: '/faulty/store', data: {} })
    assert.equal(wire.message.code, ERRORS.GW_ERR_STORE_WRITE.status)
    const data = wire.message.data as Record<string, unknown>
    assert.equal(data.code, 'GW_ERR_STORE_WRITE')
    assert.match(String(data.message), /^Config store faulty cannot be written: .*ENOENT/)
    assert.equal(data.traceback, undefined)

    const r = await http('PUT', '/faulty/store')
    assert.equal(r.status, ERRORS.GW_ERR_STORE_WRITE.status)
    assert.equal(r.body.code, 'GW_ERR_STORE_WRITE')
    assert.match(String(r.body.message), /cannot be written/)
    assert.equal(r.body.traceback, undefined)
    assert.equal(r.body.stack, undefined)
  })

  test('a GatewayError with a 4xx status answers that status; any other exception stays 500 Internal Error.', async (t) => {
    const { http } = await setup(t, false)
    const invalid = await http('GET', '/faulty/invalid')
    assert.equal(invalid.status, 400)
    assert.deepEqual(invalid.body, {
      message: 'Invalid item: name must be a string',
      code: 'GW_ERR_COLLECTION_INVALID',
    })
    const plain = await http('GET', '/faulty/plain')
    assert.equal(plain.status, 500)
    assert.deepEqual(plain.body, { message: 'Internal Error.', code: 'GW_ERR_BUNDLE_ERROR' })
  })

  test('[WP-50] with debug on, the answer carries the traceback as before', async (t) => {
    const { gw } = await setup(t, true)
    const wire = await gw.controller.core.request({ method: 'get', resource: '/faulty/invalid' })
    assert.equal(wire.message.code, 400)
    const data = wire.message.data as Record<string, unknown>
    assert.equal(data.code, 'GW_ERR_COLLECTION_INVALID')
    assert.match(String(data.traceback), /GatewayError: Invalid item/)
  })
})
