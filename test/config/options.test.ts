/**
 * Config declared once (issue 13, step 5): the defaults, the schema and the environment table come from one
 * declaration per option, and the validator reads the same declarations.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CONFIG_SCHEMA, DEFAULTS, ENV_VARS, loadConfig } from '../../src/config/index.ts'
import { boolean, defaultsOf, integer, oneOf, optionsOf, schemaOf, string } from '../../src/config/option.ts'
import { OPTIONS } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate-config.ts'

const TREE = {
  a: {
    port: integer(80, { minimum: 1, maximum: 100, env: 'X_PORT' }),
    name: string('n', { minLength: 1, pattern: '^[a-z]+$' }),
    on: boolean(true),
    mode: oneOf(['x', 'y'], 'x'),
    deep: { size: integer(5, { minimum: 0 }) },
  },
} as const

test('defaults, schema and options are derived from the declarations, nested sections included', () => {
  assert.deepEqual(defaultsOf(TREE), { a: { port: 80, name: 'n', on: true, mode: 'x', deep: { size: 5 } } })
  assert.deepEqual(
    optionsOf(TREE).map(([p]) => p),
    ['a.port', 'a.name', 'a.on', 'a.mode', 'a.deep.size'],
  )
  const schema = schemaOf(TREE) as { properties: { a: { properties: Record<string, unknown> } } }
  assert.deepEqual(schema.properties.a.properties.port, { type: 'integer', minimum: 1, maximum: 100 })
  assert.deepEqual(schema.properties.a.properties.mode, { enum: ['x', 'y'] })
  assert.equal((schema.properties.a.properties.deep as { type: string }).type, 'object')
})

test('the validator reports every violation at once, in JSON Schema words', () => {
  const bad = { a: { port: 0, name: 'A', on: 'yes', mode: 'z', deep: { size: 1.5 }, extra: 1 }, more: {} }
  const errors = validateConfig(TREE, bad)
  const got = errors.map((e) => `${e.instancePath} ${e.message}`).sort()
  assert.deepEqual(got, [
    ' must NOT have additional properties',
    '/a must NOT have additional properties',
    '/a/deep/size must be integer',
    '/a/mode must be equal to one of the allowed values',
    '/a/name must match pattern "^[a-z]+$"',
    '/a/on must be boolean',
    '/a/port must be >= 1',
  ])
  assert.deepEqual(validateConfig(TREE, defaultsOf(TREE)), [])
  assert.equal(validateConfig(TREE, { a: 5 })[0]?.message, 'must be object')
})

test('the real configuration: every default is valid, every environment variable names a declared option', () => {
  assert.deepEqual(validateConfig(OPTIONS, structuredClone(DEFAULTS)), [])
  for (const [env, [section, key]] of Object.entries(ENV_VARS)) {
    const props = (CONFIG_SCHEMA as { properties: Record<string, { properties: Record<string, unknown> }> })
      .properties
    assert.ok(props[section]?.properties[key.split('.')[0] as string], `${env} → ${section}.${key}`)
  }
})

test('a `__proto__` key in the config file stays an own key and is refused as unknown', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-config-proto-'))
  try {
    const file = join(dir, 'gw.json')
    await writeFile(file, '{"__proto__": {"polluted": true}, "broker": {"__proto__": {"port": 1}}}')
    await assert.rejects(loadConfig({ file, env: {} }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'GW_ERR_CONFIG_INVALID')
      assert.match(err.message, /additional properties \(`__proto__`\)/)
      return true
    })
    assert.equal(({} as { polluted?: boolean }).polluted, undefined)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('a file that sets one option of a section keeps the defaults of the others', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-config-merge-'))
  try {
    const file = join(dir, 'gw.json')
    await writeFile(file, JSON.stringify({ files: { maxParts: 3 } }))
    const c = await loadConfig({ file, env: {} })
    assert.equal(c.files.maxParts, 3)
    assert.equal(c.files.quotaBytes, DEFAULTS.files.quotaBytes)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
