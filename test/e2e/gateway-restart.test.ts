import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { type Gateway, startGateway } from '../../src/server.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'
import { copyExampleDir, freePort, spawnExample } from '../helpers/processes.ts'

async function gatewayOn(dataDir: string, brokerPort: number, httpPort: number): Promise<Gateway> {
  return startGateway(
    await loadConfig({
      env: {},
      flags: {
        broker: { host: '127.0.0.1', port: brokerPort },
        http: { host: '127.0.0.1', port: httpPort },
        data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
        log: { level: 'silent' },
      },
    }),
  )
}

test('[WP-44] gateway restart: tokens and bundle config intact, the bundle re-registers by itself', async (t) => {
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-restart-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const bundleDir = await copyExampleDir()
  defer(() => rm(bundleDir, { recursive: true, force: true }))
  const [brokerPort, httpPort] = [await freePort(), await freePort()]

  let gw = await gatewayOn(dataDir, brokerPort, httpPort)
  let current = gw
  defer(() => current.close())
  const root = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()
  const read = gw.tokens!.create({ description: 'survives restarts', scope: 'read' }).secret
  const bundle = spawnExample({ brokerUrl: gw.brokerUrl, dir: bundleDir })
  defer(() => bundle.stop())
  await bundle.ready
  const call = (token: string, method = 'GET', body?: unknown) =>
    fetch(`${current.httpUrl}/api/v1/example`, {
      method,
      headers: { 'mx-api-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
  assert.equal((await call(root, 'PUT', { key: 'before restart' })).status, 200)

  await gw.close()
  const down = Date.now()
  gw = await gatewayOn(dataDir, brokerPort, httpPort)
  current = gw
  const core = gw.controller.core
  await waitFor(
    () => core.components().some((c) => c.name === 'example' && c.online),
    10_000,
    're-registration',
  )
  t.diagnostic(`gateway back → example registered again: ${Date.now() - down} ms`)

  assert.equal(
    (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim(),
    root,
    'the root token file is kept',
  )
  const r = await call(read)
  assert.equal(r.status, 200, 'the read token made before the restart still works')
  assert.deepEqual(await r.json(), { key: 'before restart' }, 'the bundle config survived')
  assert.equal((await call(root, 'PUT', { key: 'after' })).status, 200)
  assert.equal(bundle.child.exitCode, null, 'the bundle process was never restarted')
})
