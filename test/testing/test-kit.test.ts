import assert from 'node:assert/strict'
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ExampleBundle } from '../../examples/example/example-bundle.ts'
import { Bundle, type ConfigStore, createBundle, type JsonObject, route } from '../../src/index.ts'
import { startTestGateway } from '../../src/testing/index.ts'
import { lifo, logSink } from '../helpers/gateway.ts'

const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/example/', import.meta.url))

const manifest = (name: string, resources: string[]) => ({
  name,
  version: '0.0.1',
  description: 'test kit bundle',
  role: 'model',
  ttl: 5,
  resources: resources.map((resource) => ({ resource, methods: ['get', 'put'] })),
})

/** Resolves true when something accepts TCP connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Active handles by type (`TCPServerWrap`, `TCPSocketWrap`, `Timeout`, …). */
function resources(): Map<string, number> {
  const counts = new Map<string, number>()
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1)
  return counts
}

describe('bundlegate/testing', () => {
  test('a decorated Bundle subclass: HTTP with the root token, in a temp copy of its directory', async (t) => {
    const defer = lifo(t)
    const started = performance.now()
    const gw = await startTestGateway()
    defer(() => gw.close())
    const before = await readFile(join(EXAMPLE_DIR, 'data', 'example.json'), 'utf8').catch(() => undefined)
    const bundle = await gw.startBundle(new ExampleBundle({ dir: EXAMPLE_DIR }))
    assert.equal(bundle.registered, true)
    assert.notEqual(bundle.dir, EXAMPLE_DIR, 'isolated: the bundle runs in a temp copy')
    assert.equal(gw.token.startsWith('bgt_'), true)
    assert.match(gw.brokerUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/)
    assert.match(gw.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/)

    const get = await gw.request('GET', '/example')
    assert.deepEqual(get, {
      status: 200,
      body: { key: 'value' },
      headers: get.headers,
    })
    const put = await gw.request('PUT', '/example', { key: 'v2' })
    assert.equal(put.status, 200)
    assert.deepEqual(put.body, { key: 'v2' })
    assert.deepEqual(JSON.parse(await readFile(join(bundle.dir, 'data', 'example.json'), 'utf8')), {
      key: 'v2',
    })
    const after = await readFile(join(EXAMPLE_DIR, 'data', 'example.json'), 'utf8').catch(() => undefined)
    assert.equal(after, before, "the example's own data file is untouched")

    const bad = await gw.request<{ message: string; code: string }>('PUT', '/example', [1, 2])
    assert.equal(bad.status, 400)
    assert.equal(bad.body.code, 'GW_ERR_BUNDLE_ERROR')
    assert.match(bad.body.message, /data must be object/)
    assert.equal((await gw.request('GET', '/health')).status, 200)
    assert.equal((await gw.request('GET', '/api/v1/bundles')).status, 200)
    const noToken = await gw.request<{ code: string }>('GET', '/example', undefined, { token: null })
    assert.equal(noToken.status, 401)
    assert.equal(noToken.body.code, 'GW_ERR_AUTH_REQUIRED')
    await gw.close()
    t.diagnostic(`whole bundle test: ${Math.round(performance.now() - started)} ms`)
  })

  test('a read token may GET but not PUT', async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway()
    defer(() => gw.close())
    await gw.startBundle(new ExampleBundle({ dir: EXAMPLE_DIR }))
    const read = await gw.createToken('read')
    assert.match(read, /^bgt_/)
    assert.deepEqual((await gw.request('GET', '/example', undefined, { token: read })).body, { key: 'value' })
    const put = await gw.request<{ code: string }>('PUT', '/example', { key: 'x' }, { token: read })
    assert.equal(put.status, 403)
    assert.equal(put.body.code, 'GW_ERR_SCOPE')
    const rw = await gw.createToken('readwrite')
    assert.equal((await gw.request('PUT', '/example', { key: 'x' }, { token: rw })).status, 200)
    const bogus = await gw.request('GET', '/example', undefined, { token: 'bgt_nope' })
    assert.equal(bogus.status, 401)
  })

  test('createBundle() with a manifest option, and mqttRequest straight to the controller', async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway()
    defer(() => gw.close())
    const bundle = createBundle({ manifest: manifest('kitfn', ['/kit/:id']) })
    bundle.get('/kit/:id', (m) => ({ id: m.param.id ?? null, scope: m.caller?.scope ?? null }))
    bundle.put('/kit/:id', (m) => ({ got: m.data ?? null }), { schema: { type: 'object' } })
    assert.equal(await gw.startBundle(bundle), bundle)

    const answer = await gw.mqttRequest('GET', '/kit/7')
    assert.equal(answer.code, 200)
    assert.equal(answer.method, 'get')
    assert.equal(answer.resource, '/kit/7')
    assert.deepEqual(answer.data, { id: '7', scope: null })
    assert.deepEqual((await gw.mqttRequest('put', '/kit/7', { a: 1 })).data, { got: { a: 1 } })
    assert.equal((await gw.mqttRequest('put', '/kit/7', 'text')).code, 400)
    const missing = await gw.mqttRequest('GET', '/nothing')
    assert.equal(missing.code, 404)
    // Through the web service, the caller is the root token (admin).
    assert.deepEqual((await gw.request('GET', '/kit/8')).body, { id: '8', scope: 'admin' })
  })

  test('a bundle keeps its own logger; isolate: false runs it in place', async (t) => {
    const defer = lifo(t)
    const dir = await mkdtemp(join(tmpdir(), 'bg-kit-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest('inplace', ['/inplace'])))
    const gw = await startTestGateway()
    defer(() => gw.close())
    class InPlace extends Bundle {
      store!: ConfigStore<JsonObject>
      override async init() {
        this.store = await this.openStore<JsonObject>('inplace', { defaults: { n: 0 } })
      }
      @route({ resource: '/inplace', methods: 'put' })
      async put() {
        await this.store.replace({ n: 1 })
        return this.store.data
      }
    }
    const sink = logSink('debug')
    const bundle = await gw.startBundle(new InPlace({ dir, logger: sink.logger }), { isolate: false })
    assert.equal(bundle.dir, dir)
    assert.equal((await gw.request('PUT', '/inplace', {})).status, 200)
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'data', 'inplace.json'), 'utf8')), { n: 1 })
    assert.ok(sink.lines.some((l) => String(l.msg).startsWith('Register successfully inplace tunnel: ')))

    // Bundles without a logger of their own print nothing; their warnings and errors land in gw.logs.
    const failing = createBundle({ manifest: manifest('failing', ['/failing']) })
    failing.get('/failing', () => {
      throw new Error('boom')
    })
    await gw.startBundle(failing)
    assert.equal((await gw.request('GET', '/failing')).status, 500)
    const line = gw.logs.find((l) => l.msg === 'handler failed')
    assert.equal(line?.bundle, 'failing')
    assert.equal((line?.err as { message?: string } | undefined)?.message, 'boom')
    assert.ok(!gw.logs.some((l) => l.bundle === 'inplace'))
  })

  test('a bundle that cannot register: startBundle rejects in time, saying why', async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway()
    defer(() => gw.close())
    const bundle = createBundle({ manifest: manifest('thief', ['/tokens']) })
    await assert.rejects(
      gw.startBundle(bundle, { timeoutMs: 300 }),
      /bundle 'thief' did not register within 300 ms: registration refused, retrying \(resource '\/tokens' is already provided by 'gateway'\)/,
    )
    assert.ok(gw.logs.some((l) => l.msg === 'registration refused, retrying'))
    await assert.rejects(gw.startBundle(bundle), /already started/)
  })

  test('close() stops the bundles and the gateway, frees both ports, removes the temp dirs, leaves no handles', async () => {
    const baseline = resources()
    const gw = await startTestGateway()
    const fn = createBundle({ manifest: manifest('closing', ['/closing']) })
    fn.get('/closing', () => ({ ok: true }))
    await gw.startBundle(fn)
    const cls = await gw.startBundle(new ExampleBundle({ dir: EXAMPLE_DIR }))
    assert.equal(await listening(gw.brokerUrl), true)
    assert.equal(await listening(gw.httpUrl), true)
    assert.equal((await gw.request('GET', '/closing')).status, 200)
    const open = [...resources()].filter(([type, n]) => n > (baseline.get(type) ?? 0)).map(([type]) => type)
    assert.ok(open.includes('TCPServerWrap') && open.includes('TCPSocketWrap'), `seen while open: ${open}`)
    await Promise.all([gw.close(), gw.close()])
    await gw.close()
    assert.equal(await listening(gw.brokerUrl), false)
    assert.equal(await listening(gw.httpUrl), false)
    await assert.rejects(access(gw.dataDir), { code: 'ENOENT' })
    await assert.rejects(access(cls.dir), { code: 'ENOENT' })
    await assert.rejects(gw.startBundle(createBundle()), /after close/)
    await new Promise((resolve) => setImmediate(resolve))
    const leftover = [...resources()].filter(([type, n]) => n > (baseline.get(type) ?? 0))
    assert.deepEqual(leftover, [], `handles left open: ${JSON.stringify(leftover)}`)
  })
})
