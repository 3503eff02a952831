import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { GatewayError } from '../../src/errors.ts'
import type { Json, JsonObject } from '../../src/protocol/index.ts'
import { loadManifest, type ManifestProblem, validateManifest } from '../../src/sdk/manifest.ts'

const EXAMPLE: JsonObject = {
  name: 'example',
  version: '0.0.1',
  author: 'Your Name Here',
  email: 'example@com.com',
  description: 'Description of this bundle',
  license: 'GPL',
  main: 'index.py',
  argument: '',
  priority: 99,
  hook: [],
  dependencies: {},
  repository: '',
  role: 'model',
  ttl: 60,
  resources: [{ methods: ['get', 'put'], resource: '/example' }],
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-manifest-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

function problemsOf(fn: () => unknown): { message: string; problems: ManifestProblem[] } {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err))
    assert.equal(err.code, 'GW_ERR_MANIFEST_INVALID')
    return { message: err.message, problems: (err.data as { problems: ManifestProblem[] }).problems }
  }
  assert.fail('expected GW_ERR_MANIFEST_INVALID')
}

test('the example manifest is valid and fully typed', () => {
  const m = validateManifest(EXAMPLE)
  assert.equal(m.name, 'example')
  assert.equal(m.version, '0.0.1')
  assert.equal(m.description, 'Description of this bundle')
  assert.equal(m.role, 'model')
  assert.equal(m.ttl, 60)
  assert.equal(m.priority, 99)
  assert.equal(m.author, 'Your Name Here')
  assert.equal(m.email, 'example@com.com')
  assert.equal(m.license, 'GPL')
  assert.equal(m.main, 'index.py')
  assert.equal(m.argument, '')
  assert.equal(m.repository, '')
  assert.deepEqual(m.hook, [])
  assert.deepEqual(m.dependencies, {})
  assert.deepEqual(m.resources, [{ resource: '/example', methods: ['get', 'put'] }])
  assert.deepEqual(m.raw, EXAMPLE)
})

test('only the required fields are needed; optional typed fields stay absent', () => {
  const m = validateManifest({
    name: 'a-b',
    version: '1',
    description: 'd',
    role: 'view',
    ttl: 1,
    resources: [],
  })
  assert.deepEqual(m.resources, [])
  assert.deepEqual(m.hook, [])
  assert.deepEqual(m.dependencies, {})
  assert.equal('author' in m, false)
  assert.equal('priority' in m, false)
})

test('unknown keys are kept in raw; methods are lower-cased; one hook string becomes a list', () => {
  const m = validateManifest({
    ...EXAMPLE,
    hook: 'ethernet',
    vendor: { x: [1, 2] },
    resources: [{ resource: '/a/:id', methods: ['GET', 'Put', 'get'], role: 'view', note: 'kept' }],
  })
  assert.deepEqual(m.hook, ['ethernet'])
  assert.deepEqual(m.resources, [{ resource: '/a/:id', methods: ['get', 'put'], role: 'view' }])
  assert.deepEqual(m.raw['vendor'], { x: [1, 2] })
  assert.deepEqual((m.raw['resources'] as JsonObject[])[0]!['note'], 'kept')
  assert.deepEqual(m.raw['hook'], 'ethernet')
})

test('the manifest is deep-frozen and independent of the input', () => {
  const input = structuredClone(EXAMPLE)
  const m = validateManifest(input)
  ;(input['resources'] as JsonObject[])[0]!['resource'] = '/changed'
  assert.equal(m.resources[0]!.resource, '/example')
  assert.equal((m.raw['resources'] as JsonObject[])[0]!['resource'], '/example')
  assert.ok(Object.isFrozen(m))
  assert.ok(Object.isFrozen(m.resources))
  assert.ok(Object.isFrozen(m.resources[0]!.methods))
  assert.ok(Object.isFrozen(m.raw))
  assert.ok(Object.isFrozen((m.raw['resources'] as JsonObject[])[0]))
  assert.throws(() => {
    ;(m as { ttl: number }).ttl = 1
  }, TypeError)
  assert.throws(() => m.resources.push({ resource: '/x' }), TypeError)
})

const DELETE = Symbol('delete')

/** [what is changed, field path, expected message]. */
const CASES: Array<[JsonObject | Record<string, typeof DELETE>, string, string]> = [
  [
    { name: DELETE },
    'name',
    'Expected `name` to be a string of letters and dashes (at most 64 characters), got nothing',
  ],
  [
    { name: 'my_bundle' },
    'name',
    'Expected `name` to be a string of letters and dashes (at most 64 characters), got `"my_bundle"` (string)',
  ],
  [
    { name: 'a'.repeat(65) },
    'name',
    `Expected \`name\` to be a string of letters and dashes (at most 64 characters), got \`"${'a'.repeat(56)}...\` (string)`,
  ],
  [
    { name: 7 },
    'name',
    'Expected `name` to be a string of letters and dashes (at most 64 characters), got `7` (number)',
  ],
  [{ version: DELETE }, 'version', 'Expected `version` to be a non-empty string, got nothing'],
  [{ version: 1 }, 'version', 'Expected `version` to be a non-empty string, got `1` (number)'],
  [{ description: '' }, 'description', 'Expected `description` to be a non-empty string, got `""` (string)'],
  [{ role: DELETE }, 'role', 'Expected `role` to be `model` or `view`, got nothing'],
  [{ role: 'Model' }, 'role', 'Expected `role` to be `model` or `view`, got `"Model"` (string)'],
  [{ ttl: -1 }, 'ttl', 'Expected `ttl` to be a positive integer (seconds), got `-1` (number)'],
  [{ ttl: 0 }, 'ttl', 'Expected `ttl` to be a positive integer (seconds), got `0` (number)'],
  [{ ttl: 1.5 }, 'ttl', 'Expected `ttl` to be a positive integer (seconds), got `1.5` (number)'],
  [{ ttl: '60' }, 'ttl', 'Expected `ttl` to be a positive integer (seconds), got `"60"` (string)'],
  [{ ttl: DELETE }, 'ttl', 'Expected `ttl` to be a positive integer (seconds), got nothing'],
  [
    { resources: DELETE },
    'resources',
    'Expected `resources` to be an array of resource objects, got nothing',
  ],
  [
    { resources: { resource: '/a' } },
    'resources',
    'Expected `resources` to be an array of resource objects, got `{"resource":"/a"}` (object)',
  ],
  [
    { resources: ['/a'] },
    'resources[0]',
    'Expected `resources[0]` to be an object with a `resource` route, got `"/a"` (string)',
  ],
  [
    { resources: [{ resource: '/a' }, { resource: 'b' }] },
    'resources[1].resource',
    'Expected `resources[1].resource` to be a route starting with `/` (at most 1023 characters), got `"b"` (string)',
  ],
  [
    { resources: [{ resource: '' }] },
    'resources[0].resource',
    'Expected `resources[0].resource` to be a route starting with `/` (at most 1023 characters), got `""` (string)',
  ],
  [
    { resources: [{ methods: ['get'] }] },
    'resources[0].resource',
    'Expected `resources[0].resource` to be a route starting with `/` (at most 1023 characters), got nothing',
  ],
  [
    { resources: [{ resource: `/${'x'.repeat(1023)}` }] },
    'resources[0].resource',
    `Expected \`resources[0].resource\` to be a route starting with \`/\` (at most 1023 characters), got \`"/${'x'.repeat(55)}...\` (string)`,
  ],
  [
    { resources: [{ resource: '/a', methods: [] }] },
    'resources[0].methods',
    'Expected `resources[0].methods` to be a non-empty array of `get`, `post`, `put`, `delete`, got `[]` (array)',
  ],
  [
    { resources: [{ resource: '/a', methods: 'get' }] },
    'resources[0].methods',
    'Expected `resources[0].methods` to be a non-empty array of `get`, `post`, `put`, `delete`, got `"get"` (string)',
  ],
  [
    { resources: [{ resource: '/a' }, { resource: '/b', methods: ['get', 'patch'] }] },
    'resources[1].methods[1]',
    'Expected `resources[1].methods[1]` to be one of `get`, `post`, `put`, `delete`, got `"patch"` (string)',
  ],
  [
    { resources: [{ resource: '/a', role: 'controller' }] },
    'resources[0].role',
    'Expected `resources[0].role` to be `model` or `view`, got `"controller"` (string)',
  ],
  [{ author: 1 }, 'author', 'Expected `author` to be a string, got `1` (number)'],
  [{ email: null }, 'email', 'Expected `email` to be a string, got `null` (null)'],
  [{ license: ['GPL'] }, 'license', 'Expected `license` to be a string, got `["GPL"]` (array)'],
  [{ main: false }, 'main', 'Expected `main` to be a string, got `false` (boolean)'],
  [{ argument: 0 }, 'argument', 'Expected `argument` to be a string, got `0` (number)'],
  [{ repository: {} }, 'repository', 'Expected `repository` to be a string, got `{}` (object)'],
  [{ priority: '99' }, 'priority', 'Expected `priority` to be a number, got `"99"` (string)'],
  [
    { hook: 1 },
    'hook',
    'Expected `hook` to be an array of non-empty strings, or one non-empty string, got `1` (number)',
  ],
  [
    { hook: '' },
    'hook',
    'Expected `hook` to be an array of non-empty strings, or one non-empty string, got `""` (string)',
  ],
  [{ hook: ['a', ''] }, 'hook[1]', 'Expected `hook[1]` to be a non-empty string, got `""` (string)'],
  [{ dependencies: [] }, 'dependencies', 'Expected `dependencies` to be an object, got `[]` (array)'],
]

for (const [change, field, message] of CASES) {
  const shown = JSON.stringify(change, (_k, v) => (v === DELETE ? 'deleted' : v))
  test(`wrong \`${field}\` (${shown.length > 70 ? `${shown.slice(0, 67)}...` : shown})`, () => {
    const input: Record<string, Json> = { ...EXAMPLE }
    for (const [key, value] of Object.entries(change)) {
      if (value === DELETE) delete input[key]
      else input[key] = value as Json
    }
    const { message: text, problems } = problemsOf(() => validateManifest(input))
    assert.equal(text, `Invalid bundle.json (bundle.json): ${message}`)
    assert.equal(problems.length, 1)
    assert.equal(problems[0]!.field, field)
    assert.equal(`Expected \`${field}\` to be ${problems[0]!.expected}, got ${problems[0]!.found}`, message)
  })
}

test('every problem is reported at once', () => {
  const { message, problems } = problemsOf(() =>
    validateManifest(
      { name: 'x1', role: 'both', ttl: -1, resources: [{ resource: 'a', methods: ['GO'] }] },
      'here',
    ),
  )
  assert.deepEqual(
    problems.map((p) => p.field),
    ['name', 'version', 'description', 'role', 'ttl', 'resources[0].resource', 'resources[0].methods[0]'],
  )
  assert.ok(message.startsWith('Invalid bundle.json (here): Expected `name`'))
  assert.equal(message.split('; ').length, 7)
  assert.ok(message.includes('; Expected `ttl` to be a positive integer (seconds), got `-1` (number); '))
  assert.deepEqual(problems[4], {
    field: 'ttl',
    expected: 'a positive integer (seconds)',
    found: '`-1` (number)',
  })
})

test('a manifest that is not an object is refused', () => {
  for (const [value, found] of [
    [[], '`[]` (array)'],
    [null, '`null` (null)'],
    ['x', '`"x"` (string)'],
  ] as const) {
    const { message } = problemsOf(() => validateManifest(value))
    assert.equal(
      message,
      `Invalid bundle.json (bundle.json): Expected the manifest to be a JSON object, got ${found}`,
    )
  }
})

test('loadManifest reads <dir>/bundle.json', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'bundle.json'), `\uFEFF${JSON.stringify(EXAMPLE, null, 2)}`)
  const m = await loadManifest(dir)
  assert.equal(m.name, 'example')
  assert.deepEqual(m.raw, EXAMPLE)
})

test('loadManifest: unreadable file gives GW_ERR_MANIFEST_READ', async (t) => {
  const dir = await tempDir(t)
  await assert.rejects(loadManifest(dir), (err: unknown) => {
    assert.ok(err instanceof GatewayError)
    assert.equal(err.code, 'GW_ERR_MANIFEST_READ')
    assert.ok(err.message.startsWith(`Cannot read bundle.json at ${join(dir, 'bundle.json')}: ENOENT`))
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT')
    return true
  })
})

test('loadManifest: invalid JSON gives GW_ERR_MANIFEST_INVALID with the position', async (t) => {
  const dir = await tempDir(t)
  const cases: Array<[string, number, number, number]> = [
    ['{\n  "name": "x",\n  "ttl": ,\n}', 3, 10, 26],
    ['{"name": "x"', 1, 13, 12],
    ['{"a": tru}', 1, 7, 6],
    ['{"a": 1,}', 1, 9, 8],
    ['', 1, 1, 0],
    ['{"a": "b\nc"}', 1, 9, 8],
    ['{"a": 1} x', 1, 10, 9],
  ]
  for (const [text, line, column, position] of cases) {
    await writeFile(join(dir, 'bundle.json'), text)
    await assert.rejects(loadManifest(dir), (err: unknown) => {
      assert.ok(err instanceof GatewayError)
      assert.equal(err.code, 'GW_ERR_MANIFEST_INVALID')
      assert.ok(
        err.message.startsWith(
          `Invalid bundle.json (${join(dir, 'bundle.json')}): invalid JSON at line ${line}, column ${column} (position ${position}): `,
        ),
        `${JSON.stringify(text)}: ${err.message}`,
      )
      assert.deepEqual(err.data, { line, column, position })
      assert.ok(err.cause instanceof SyntaxError)
      return true
    })
  }
})

test('loadManifest: a valid JSON but invalid manifest names the file', async (t) => {
  const dir = await tempDir(t)
  await writeFile(join(dir, 'bundle.json'), JSON.stringify({ ...EXAMPLE, ttl: -1 }))
  await assert.rejects(loadManifest(dir), {
    code: 'GW_ERR_MANIFEST_INVALID',
    message: `Invalid bundle.json (${join(dir, 'bundle.json')}): Expected \`ttl\` to be a positive integer (seconds), got \`-1\` (number)`,
  })
})
