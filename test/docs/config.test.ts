import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { DEFAULTS, ENV_VARS, loadConfig } from '../../src/config/index.ts'

const doc = await readFile(new URL('../../docs/config.md', import.meta.url), 'utf8')

function leaves(o: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === 'object'
      ? leaves(v as Record<string, unknown>, `${prefix}${k}.`)
      : [[`${prefix}${k}`, v]],
  ) as Array<[string, unknown]>
}

test('docs/config.md lists every option with its default and environment variable, and nothing else', () => {
  const rows = [...doc.matchAll(/^\| `([a-zA-Z.]+)` *\| *(\w+) *\| *`([^`]*)` *\| *`?([A-Z_]*)`? *\|/gm)]
  const documented = new Map(rows.map((r) => [r[1], { def: r[3], env: r[4] }]))
  const options = leaves(DEFAULTS as unknown as Record<string, unknown>)
  assert.deepEqual([...documented.keys()].sort(), options.map(([k]) => k).sort())
  for (const [key, def] of options) {
    assert.equal(documented.get(key)?.def, def === '' ? '""' : String(def), `default of ${key}`)
  }
  for (const [env, [section, key]] of Object.entries(ENV_VARS)) {
    assert.equal(documented.get(`${section}.${key}`)?.env, env, `environment variable of ${section}.${key}`)
  }
})

test('precedence: defaults < file < environment < flags; the result is frozen', async () => {
  const { writeFile, mkdtemp, rm } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = await mkdtemp(join(tmpdir(), 'bg-config-'))
  try {
    const file = join(dir, 'gw.json')
    await writeFile(file, JSON.stringify({ broker: { port: 1 }, controller: { mode: 'sanji-compat' } }))
    const c = await loadConfig({
      file,
      env: { BUNDLEGATE_BROKER_PORT: '2', LOG_LEVEL: 'debug' },
      flags: { broker: { port: 3 } },
    })
    assert.equal(c.broker.port, 3)
    assert.equal(c.controller.mode, 'sanji-compat')
    assert.equal(c.log.level, 'debug')
    assert.equal(c.broker.host, '127.0.0.1')
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.broker))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test('every violation is reported at once with GW_ERR_CONFIG_INVALID', async () => {
  await assert.rejects(
    loadConfig({
      env: {},
      flags: { broker: { port: 70000, url: 'http://x' }, controller: { mode: 'x' as 'default' } },
    }),
    (err: Error & { code?: string; data?: unknown[] }) => {
      assert.equal(err.code, 'GW_ERR_CONFIG_INVALID')
      assert.match(err.message, /broker\.port/)
      assert.match(err.message, /broker\.url/)
      assert.match(err.message, /controller\.mode/)
      assert.equal(err.data?.length, 3)
      return true
    },
  )
  await assert.rejects(
    loadConfig({ env: { BUNDLEGATE_LIVENESS: 'maybe' } }),
    /Expected `BUNDLEGATE_LIVENESS` to be true or false/,
  )
  await assert.rejects(
    loadConfig({ env: {}, flags: { broker: { nope: 1 } as never } }),
    /additional properties \(`nope`\)/,
  )
})
