/**
 * The shared bundle host (src/host, docs/host.md): several real bundles, each in a worker thread of one process,
 * against an in-process gateway. One bundle's crash, `process.exit()`, heap exhaustion or endless loop ends its own
 * thread, which is restarted; the other bundle answers throughout.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BundleHost, type HostedStatus, hostSpecFromDir } from '../../src/host/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { answered, hostBundleDir as bundleDir } from '../helpers/host-bundles.ts'

test('two bundles in one host: own threads, same process; a crash of one is restarted, the other answers throughout', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const host = new BundleHost({
    logger: silentLogger(),
    limits: {
      restartMs: 50,
      pingMs: 100,
      unresponsiveMs: 3000,
      startGraceMs: 20_000,
      heapMb: 32,
      stopTimeoutMs: 2000,
    },
  })
  defer(() => host.close())
  const exits: HostedStatus[] = []
  const dirs = [await bundleDir('hosta'), await bundleDir('hostb')]
  for (const d of dirs) defer(() => rm(d, { recursive: true, force: true }))
  for (const d of dirs) {
    const spec = await hostSpecFromDir(d, { BROKER_URL: gw.brokerUrl, LOG_LEVEL: 'silent' })
    host.add(spec, (s) => {
      if (s.state === 'backoff') exits.push(s)
    })
  }
  const get = async (resource: string) => {
    const r = await gw.controller.core.request({ method: 'get', resource })
    return r.message
  }
  await waitFor(() => host.status().every((s) => s.state === 'running'), 10_000, 'both threads running')
  const a = await answered(get, '/hosta/who')
  const b = await answered(get, '/hostb/who')
  const who = (m: { data?: unknown }) => m.data as { threadId: number; pid: number }
  assert.equal(who(a).pid, process.pid, 'bundle a runs in this process')
  assert.equal(who(b).pid, process.pid, 'bundle b runs in this process')
  assert.notEqual(who(a).threadId, who(b).threadId, 'each bundle has its own thread')

  const cases: Array<{ route: string; kind: string }> = [
    { route: 'exit', kind: 'exit' },
    { route: 'throw', kind: 'error' },
    { route: 'loop', kind: 'unresponsive' },
    { route: 'oom', kind: 'out-of-memory' },
  ]
  for (const [i, c] of cases.entries()) {
    const before = who(await answered(get, '/hosta/who')).threadId
    assert.equal((await get(`/hosta/${c.route}`)).code, 200)
    await waitFor(() => exits.length > i, 20_000, `bundle a to end after /${c.route}`)
    assert.equal(exits[i]?.lastExit?.kind, c.kind, JSON.stringify(exits[i]))
    if (c.kind === 'exit')
      assert.deepEqual({ ...exits[i]?.lastExit, at: '' }, { kind: 'exit', code: 3, at: '' })
    assert.equal(exits[i]?.name, 'hosta', 'only the misbehaving bundle ended')
    // the other bundle answered all along, and is still the same thread
    const other = await get('/hostb/who')
    assert.equal(other.code, 200, `bundle b answers while a is down (${c.route})`)
    assert.equal(who(other).threadId, who(b).threadId)
    const again = await answered(get, '/hosta/who')
    assert.notEqual(who(again).threadId, before, `a fresh thread for bundle a after /${c.route}`)
  }
  const status = host.get('hosta')?.status()
  assert.equal(status?.restarts, cases.length)
  assert.equal(host.get('hostb')?.status().restarts, 0)
})

test('a host stop ends each bundle through its own shutdown: it says offline (503 at once) and its thread exits', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const host = new BundleHost({ logger: silentLogger(), limits: { stopTimeoutMs: 5000 } })
  const dir = await bundleDir('hostc')
  defer(() => rm(dir, { recursive: true, force: true }))
  host.add(await hostSpecFromDir(dir, { BROKER_URL: gw.brokerUrl, LOG_LEVEL: 'silent' }))
  const get = async (resource: string) =>
    (await gw.controller.core.request({ method: 'get', resource })).message
  await answered(get, '/hostc/who')
  await host.close()
  assert.equal(host.status().length, 0)
  const after = await get('/hostc/who')
  assert.equal(after.code, 503, `offline through its own stop, not left to the ttl: ${JSON.stringify(after)}`)
  assert.match(JSON.stringify(after.data), /offline/)
})

test('the host runs JavaScript only: a TypeScript main is refused with GW_ERR_HOST_MAIN and the way out', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-host-ts-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      name: 'tsonly',
      version: '1.0.0',
      description: 'a TypeScript bundle',
      main: 'index.ts',
      role: 'model',
      ttl: 5,
      resources: [{ methods: ['get'], resource: '/tsonly' }],
    }),
  )
  await writeFile(join(dir, 'index.ts'), 'export {}\n')
  await assert.rejects(hostSpecFromDir(dir, {}), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'GW_ERR_HOST_MAIN')
    assert.match(err.message, /runs JavaScript.*bundlegate run/)
    return true
  })
})
