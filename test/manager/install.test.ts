/**
 * Installing with the bundle manager (docs/manager.md "Installing", "Upgrade and rollback", "Environment of a
 * bundle"): refusals that write nothing, an upgrade that never registers rolled back, downgrades only on request,
 * the bundle's own API token (rotated at every start, revoked at uninstall), its data kept across upgrades.
 */
import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { GatewayError } from '../../src/errors.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { bundleParent, getJson, waitState, writeBundle } from '../helpers/managed-bundles.ts'

/** Everything under the data directory's bundles/ and the record, to compare before and after a refusal. */
async function snapshot(dataDir: string): Promise<string> {
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = []
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      out.push(join(dir, e.name))
      if (e.isDirectory()) out.push(...(await walk(join(dir, e.name))))
    }
    return out
  }
  const record = await readFile(join(dataDir, 'manager.json'), 'utf8').catch(() => '')
  return JSON.stringify([
    await walk(join(dataDir, 'bundles')),
    await walk(join(dataDir, 'bundle-data')),
    record,
  ])
}

async function refused(p: Promise<unknown>, code: string, message: RegExp): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  assert.ok(err instanceof GatewayError, `refused (${String(err)})`)
  assert.equal(err.code, code)
  assert.match(err.message, message)
  return err
}

test('refused with nothing written: resource collisions (409 naming the owner), a missing dependency, a cycle, a bad manifest', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway()
  defer(() => gw.close())
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'owner', resource: '/shared/thing' }))
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'base', resource: '/base' }))
  const before = await snapshot(gw.dataDir)

  const one = await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'thief', resource: '/shared/+' })),
    'GW_ERR_MANAGER_CONFLICT',
    /resource '\/shared\/\+' of thief is already provided by 'owner'/,
  )
  assert.equal(one.statusCode, 409)
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'thief', resource: '/shared/thing' })),
    'GW_ERR_MANAGER_CONFLICT',
    /'owner'/,
  )
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'thief', resource: '/tokens/mine' })),
    'GW_ERR_MANAGER_CONFLICT',
    /provided by 'gateway'/,
  )
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'thief', resource: '/controller/x' })),
    'GW_ERR_MANAGER_CONFLICT',
    /provided by 'gateway'/,
  )
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'needy', dependencies: ['nowhere'] })),
    'GW_ERR_MANAGER_DEPENDENCY',
    /dependency 'nowhere' is not installed/,
  )
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'loop', dependencies: ['loop'] })),
    'GW_ERR_MANAGER_DEPENDENCY',
    /depends on itself/,
  )
  const bad = await writeBundle(src.dir, { name: 'broken' })
  await writeFile(
    join(bad, 'bundle.json'),
    JSON.stringify({ name: 'b@d', version: '', role: 'x', ttl: -1, resources: 3 }),
  )
  const invalid = await refused(
    gw.manager.installDirectory(bad),
    'GW_ERR_MANAGER_MANIFEST',
    /name.*version|problems/s,
  )
  assert.equal(invalid.statusCode, 400)
  assert.ok(((invalid.data as { problems?: unknown[] }).problems?.length ?? 0) >= 5, 'every problem listed')
  assert.equal(await snapshot(gw.dataDir), before, 'nothing written by a refused install')
  assert.deepEqual(
    gw.manager
      .list()
      .map((b) => b.name)
      .sort(),
    ['base', 'owner'],
  )

  // a cycle through an installed bundle: top depends on base; base reinstalled depending on top
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'top', dependencies: ['base'] }))
  const withTop = await snapshot(gw.dataDir)
  const cycle = await refused(
    gw.manager.installDirectory(
      await writeBundle(src.dir, {
        name: 'base',
        resource: '/base',
        version: '1.1.0',
        dependencies: ['top'],
      }),
    ),
    'GW_ERR_MANAGER_DEPENDENCY',
    /cycle base -> top -> base/,
  )
  assert.deepEqual((cycle.data as { cycle: string[] }).cycle, ['base', 'top', 'base'])
  assert.equal(await snapshot(gw.dataDir), withTop)
  assert.equal(gw.manager.get('base')?.state, 'running', 'the refused upgrade left the running bundle alone')
  await refused(gw.manager.uninstall('base'), 'GW_ERR_MANAGER_REQUIRED', /base is a dependency of top/)
})

test('a resource registered by a bundle the manager does not run is a collision too', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway()
  defer(() => gw.close())
  // started by hand against the broker, not installed
  const { runCommand } = await import('../../src/cli/commands/run.ts')
  const dir = await writeBundle(src.dir, { name: 'manual', resource: '/manual' })
  await writeFile(join(dir, 'package.json'), '{"type":"module"}')
  const ac = new AbortController()
  const out = new PassThrough()
  let said = ''
  out.on('data', (c: Buffer) => {
    said += c.toString()
  })
  const sink = { out, err: out }
  const done = runCommand([dir, '--broker', gw.brokerUrl], sink, { signal: ac.signal })
  defer(async () => {
    ac.abort()
    await done
  })
  await waitFor(
    () => gw.controller.core.components().some((c) => c.name === 'manual'),
    20_000,
    'manual to register',
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${said}`)
  })
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'other', resource: '/manual' })),
    'GW_ERR_MANAGER_CONFLICT',
    /provided by 'manual'/,
  )
})

test('an upgrade that never registers is rolled back by itself; the old version answers; downgrades need allowDowngrade', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway({ manager: { startupTimeoutSec: 15 } })
  defer(() => gw.close())
  const events: string[] = []
  gw.manager.onEvent((e) => events.push(`${e.state}:${e.managed.version}`))
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'app', version: '1.0.0' }))
  const v1 = await getJson(gw, '/app')
  assert.equal(v1.body.version, '1.0.0', JSON.stringify(v1))
  const pinned = await writeFile(join(gw.dataDir, 'bundle-data', 'app', 'kept.json'), '{"kept":true}')
  void pinned

  const upgraded = await gw.manager.installDirectory(
    await writeBundle(src.dir, { name: 'app', version: '2.0.0', behaviour: 'never-register' }),
  )
  // the install resolves once the new version left `starting`: here by failing and rolling back
  await waitFor(() => gw.manager.get('app')?.version === '1.0.0', 10_000, 'the rollback')
  await waitState(gw, 'app', 'running')
  void upgraded
  const info = gw.manager.get('app')
  assert.equal(info?.previousVersion, '2.0.0')
  assert.match(
    info?.message ?? '',
    /rolled back from 2\.0\.0: did not register its resources within the startup timeout/,
  )
  assert.equal(info?.lastExit?.reason, 'startup-timeout')
  const r = await getJson(gw, '/app')
  assert.equal(r.status, 200)
  assert.equal(r.body.version, '1.0.0')
  const tail = await gw.manager.tail('app', 200)
  assert.ok(tail.some((l) => l.stream === 'manager' && /rolled back from 2\.0\.0/.test(l.line)))
  assert.ok(tail.some((l) => l.stream === 'stdout' && l.line === 'up, but registering nothing'))
  assert.ok(events.includes('running:1.0.0'))
  assert.equal(await readFile(join(gw.dataDir, 'bundle-data', 'app', 'kept.json'), 'utf8'), '{"kept":true}')

  // 1.0.0 runs, 2.0.0 is kept as previous: installing 0.9.0 is a downgrade
  await refused(
    gw.manager.installDirectory(await writeBundle(src.dir, { name: 'app', version: '0.9.0' })),
    'GW_ERR_MANAGER_DOWNGRADE',
    /0\.9\.0 is lower than the installed 1\.0\.0/,
  )
  const down = await gw.manager.installDirectory(
    await writeBundle(src.dir, { name: 'app', version: '0.9.0' }),
    {
      allowDowngrade: true,
    },
  )
  assert.equal(
    down.state,
    'running',
    `${down.message}\n${(await gw.manager.tail('app', 30)).map((l) => l.line).join('\n')}`,
  )
  assert.equal((await getJson(gw, '/app')).body.version, '0.9.0')
  // rollback on request: back to 1.0.0
  const back = await gw.manager.rollback('app')
  assert.equal(back.version, '1.0.0')
  assert.equal(back.state, 'running')
  assert.equal((await getJson(gw, '/app')).body.version, '1.0.0')
  const dirs = await readdir(join(gw.dataDir, 'bundles', 'app'))
  assert.deepEqual(dirs.sort(), ['0.9.0', '1.0.0'], 'the current and the previous version, nothing else')
})

test('a bundle gets its own API token: rotated at every start, revoked at uninstall (401)', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway()
  defer(() => gw.close())
  // a secret of the gateway's own environment is not passed on
  process.env.BUNDLEGATE_TEST_SECRET = 'not for bundles'
  defer(() => {
    delete process.env.BUNDLEGATE_TEST_SECRET
  })
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'tok' }))
  const first = (await getJson(gw, '/tok')).body.env as {
    token: string
    url: string
    dataDir: string
    leaked: unknown
  }
  assert.equal(first.leaked, null)
  assert.match(first.token, /^bgt_/)
  assert.equal(first.url, gw.httpUrl)
  assert.equal(first.dataDir, join(gw.dataDir, 'bundle-data', 'tok'))
  assert.equal((await getJson(gw, '/tok', first.token)).status, 200, 'its token works (readwrite)')
  const listed = gw.tokens?.list().filter((x) => x.description === 'bundle tok (managed)') ?? []
  assert.equal(listed.filter((x) => !x.revokedAt).length, 1)

  await gw.manager.restart('tok')
  const second = (await getJson(gw, '/tok')).body.env as { token: string }
  assert.notEqual(second.token, first.token)
  assert.equal((await getJson(gw, '/tok', first.token)).status, 401, 'the previous run’s token is revoked')
  assert.equal((await getJson(gw, '/tok', second.token)).status, 200)

  await gw.manager.uninstall('tok')
  assert.equal((await getJson(gw, '/tokens', second.token)).status, 401, 'revoked at uninstall')
  assert.equal(gw.manager.get('tok'), undefined)
  assert.deepEqual(await readdir(join(gw.dataDir, 'bundles')), ['.staging'])
  assert.deepEqual(await readdir(join(gw.dataDir, 'bundle-data')), ['tok'], 'data kept unless purged')
  await gw.manager.installDirectory(await writeBundle(src.dir, { name: 'tok' }))
  await gw.manager.uninstall('tok', { purge: true })
  assert.deepEqual(await readdir(join(gw.dataDir, 'bundle-data')), [])
})
