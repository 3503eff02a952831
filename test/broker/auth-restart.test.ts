/**
 * A gateway restart with broker authentication on: the credential store survives, the bundle reconnects with the
 * same credential, its old tunnel (unknown to the new controller) is refused by the ACL, and it re-registers by
 * itself [WP-44]. A credential revoked while the gateway was down is refused after the restart.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { BrokerCredentialStore } from '../../src/broker/index.ts'
import { loadConfig } from '../../src/config/index.ts'
import { type Gateway, startGateway } from '../../src/server.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'
import { copyExampleDir, freePort, spawnExample } from '../helpers/processes.ts'

async function gatewayOn(dataDir: string, brokerPort: number): Promise<Gateway> {
  return startGateway(
    await loadConfig({
      env: {},
      flags: {
        broker: { host: '127.0.0.1', port: brokerPort, auth: 'on' },
        http: { host: '127.0.0.1', port: 0 },
        data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
        log: { level: 'silent' },
      },
    }),
  )
}

test('[WP-44] gateway restart with MQTT authentication: the bundle re-registers with its credential', async (t) => {
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-auth-restart-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const bundleDir = await copyExampleDir()
  defer(() => rm(bundleDir, { recursive: true, force: true }))
  const brokerPort = await freePort()

  let current = await gatewayOn(dataDir, brokerPort)
  defer(() => current.close())
  const cred = current.brokerCredentials?.create('example')
  const other = current.brokerCredentials?.create('other')
  assert.ok(cred && other)
  const bundle = spawnExample({
    brokerUrl: current.brokerUrl,
    dir: bundleDir,
    env: { BROKER_USERNAME: cred.username, BROKER_PASSWORD: cred.password },
  })
  defer(() => bundle.stop())
  await bundle.ready
  const before = current.controller.core.components().find((c) => c.name === 'example')?.tunnel
  assert.ok(before)

  await current.close()
  // revoked while the gateway is down, by another process (the CLI)
  const offline = BrokerCredentialStore.open(dataDir)
  assert.equal(offline.revoke('other').length, 1)
  offline.close()
  const down = Date.now()
  current = await gatewayOn(dataDir, brokerPort)
  const core = current.controller.core
  await waitFor(
    () => core.components().some((c) => c.name === 'example' && c.online),
    10_000,
    're-registration',
  )
  t.diagnostic(`gateway back → example registered again: ${Date.now() - down} ms`)
  const answer = await core.request({ method: 'get', resource: '/example' })
  assert.equal(answer.message.code, 200)
  // the stale tunnel was asked for again on reconnect and refused (it may rarely be drawn again: then it is granted)
  const after = core.components().find((c) => c.name === 'example')?.tunnel
  if (after !== before) assert.ok((current.broker?.auth?.stats().subscriptionsDenied ?? 0) >= 1)
  assert.equal(current.brokerCredentials?.verify('other', other.password).ok, false)
  assert.equal(bundle.child.exitCode, null, 'the bundle process was never restarted')
})
