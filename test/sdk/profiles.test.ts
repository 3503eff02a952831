import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { JsonObject } from '../../src/protocol/index.ts'
import { validateManifest } from '../../src/sdk/manifest.ts'
import { deriveAllProfiles, deriveProfiles } from '../../src/sdk/profiles.ts'

const BASE: JsonObject = {
  name: 'ethernet',
  version: '1.2.0',
  description: 'ethernet interfaces',
  priority: 10,
  hook: ['dhcp'],
  dependencies: { network: '1.0' },
  ttl: 30,
  vendor: 'kept',
}

test('a model bundle with a view resource registers <name> and <name>-view', () => {
  const manifest = validateManifest({
    ...BASE,
    role: 'model',
    resources: [
      { resource: '/network/ethernet/:id', methods: ['get', 'put'] },
      { resource: '/network/ethernet' },
      { resource: '/system/remote/:name/:port', role: 'view' },
      { resource: '/network/ethernet/:name' },
    ],
  })
  const profiles = deriveProfiles(manifest)
  assert.deepEqual(
    profiles.map((p) => [p.name, p.role, p.patterns, p.empty]),
    [
      ['ethernet', 'model', ['/network/ethernet/+', '/network/ethernet'], false],
      ['ethernet-view', 'view', ['/system/remote/+/+'], false],
    ],
  )
  assert.deepEqual(profiles[0]!.data, {
    ...manifest.raw,
    name: 'ethernet',
    role: 'model',
    resources: ['/network/ethernet/+', '/network/ethernet'],
    // the declared methods per pattern, for the gateway's listings (controllers ignore the key)
    methods: { '/network/ethernet/+': ['get', 'put'] },
    // the names of the `+` levels (first declaration wins), for the gateway's OpenAPI paths
    paramNames: { '/network/ethernet/+': ['id'] },
  })
  assert.deepEqual(profiles[1]!.data, {
    ...manifest.raw,
    name: 'ethernet-view',
    role: 'view',
    resources: ['/system/remote/+/+'],
  })
  const view: JsonObject = deriveProfiles(manifest)[1]!.data
  assert.equal(view['vendor'], 'kept')
  assert.deepEqual(view['hook'], ['dhcp'])
  assert.equal(view['ttl'], 30)
})

test('a view bundle registers <name> (view) first, then <name>-model', () => {
  const manifest = validateManifest({
    ...BASE,
    name: 'dashboard',
    role: 'view',
    resources: [
      { resource: '/network/ethernet/:id' },
      { resource: '/dashboard/:id/widgets/:widget', role: 'model' },
      { resource: '/system/time', role: 'view' },
    ],
  })
  const profiles = deriveProfiles(manifest)
  assert.deepEqual(
    profiles.map((p) => [p.name, p.role, p.patterns]),
    [
      ['dashboard', 'view', ['/network/ethernet/+', '/system/time']],
      ['dashboard-model', 'model', ['/dashboard/+/widgets/+']],
    ],
  )
  assert.equal(profiles[0]!.data['role'], 'view')
  assert.equal(profiles[1]!.data['name'], 'dashboard-model')
})

test('a profile without resources is not registered, but deriveAllProfiles reports it as empty', () => {
  const manifest = validateManifest({
    ...BASE,
    role: 'model',
    resources: [{ resource: '/network/ethernet/:id' }],
  })
  assert.deepEqual(
    deriveProfiles(manifest).map((p) => p.name),
    ['ethernet'],
  )
  const all = deriveAllProfiles(manifest)
  assert.deepEqual(
    all.map((p) => [p.name, p.role, p.empty, p.patterns]),
    [
      ['ethernet', 'model', false, ['/network/ethernet/+']],
      ['ethernet-view', 'view', true, []],
    ],
  )
  assert.deepEqual(all[1]!.data['resources'], [])

  const none = validateManifest({ ...BASE, role: 'view', resources: [] })
  assert.deepEqual(deriveProfiles(none), [])
  assert.deepEqual(
    deriveAllProfiles(none).map((p) => [p.name, p.empty]),
    [
      ['ethernet', true],
      ['ethernet-model', true],
    ],
  )
})

test('patterns are de-duplicated after `:param` → `+`, in manifest order', () => {
  const manifest = validateManifest({
    ...BASE,
    role: 'model',
    resources: [
      { resource: '/b/:id' },
      { resource: '/a' },
      { resource: '/b/:name', methods: ['delete'] },
      { resource: '/a' },
      { resource: '/c/:x_1-y' },
    ],
  })
  assert.deepEqual(deriveProfiles(manifest)[0]!.patterns, ['/b/+', '/a', '/c/+-y'])
})

test('profiles are fresh mutable copies; adding a tunnel leaves the manifest alone', () => {
  const manifest = validateManifest({ ...BASE, role: 'model', resources: [{ resource: '/x' }] })
  const [profile] = deriveProfiles(manifest)
  profile!.data['tunnel'] = 'abc'
  ;(profile!.data['dependencies'] as JsonObject)['other'] = '2'
  profile!.patterns.push('/y')
  assert.equal(manifest.raw['tunnel'], undefined)
  assert.deepEqual(manifest.raw['dependencies'], { network: '1.0' })
  assert.deepEqual(deriveProfiles(manifest)[0]!.patterns, ['/x'])
  assert.deepEqual(deriveProfiles(manifest)[0]!.data['resources'], ['/x'], 'data.resources is its own array')
})

test('route schemas travel with the model registration as pattern → method → { body?, response? }', () => {
  const manifest = validateManifest({
    ...BASE,
    role: 'model',
    resources: [
      { resource: '/thermo/:id', methods: ['get', 'put'] },
      { resource: '/thermo' },
      { resource: '/v', role: 'view' },
    ],
  })
  const body = { type: 'object', required: ['value'] }
  const response = { type: 'object', properties: { value: { type: 'number' } } }
  const [model, view] = deriveProfiles(manifest, [
    { resource: '/thermo/:id', methods: ['get'], schema: { response } },
    { resource: '/thermo/:id', methods: 'put', schema: { body, response } },
    // the short form: a plain JSON Schema is the body's
    { resource: '/thermo', methods: 'post', schema: { type: 'object' } },
    // a route without a schema, and one for a resource the manifest does not register, add nothing
    { resource: '/thermo', methods: 'get' },
    { resource: '/elsewhere', schema: { body } },
  ])
  assert.deepEqual(model!.data['schemas'], {
    '/thermo/+': { get: { response }, put: { body, response } },
    '/thermo': { post: { body: { type: 'object' } } },
  })
  assert.equal(view!.data['schemas'], undefined)
  assert.equal(view!.data['paramNames'], undefined)
})

test('a body schema travels only for the methods the SDK checks: POST and PUT, DELETE when named, never GET', () => {
  const manifest = validateManifest({
    ...BASE,
    role: 'model',
    resources: [{ resource: '/all' }, { resource: '/named' }, { resource: '/both' }],
  })
  const body = { type: 'object', required: ['value'] }
  const response = { type: 'object' }
  const [model] = deriveProfiles(manifest, [
    { resource: '/all', schema: body },
    { resource: '/named', methods: ['get', 'delete'], schema: { body } },
    { resource: '/both', schema: { body, response } },
  ])
  assert.deepEqual(model!.data['schemas'], {
    '/all': { post: { body }, put: { body } },
    '/named': { delete: { body } },
    '/both': { get: { response }, post: { body, response }, put: { body, response }, delete: { response } },
  })
})
