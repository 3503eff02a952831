/**
 * An external broker the way a device would run one: mosquitto with TLS and a password file, no anonymous clients.
 * The gateway connects with `broker.url` mqtts://, `broker.caFile`, `broker.username`/`password`; the example bundle
 * with `BROKER_URL`, `BROKER_CA_FILE`, `BROKER_USERNAME`/`BROKER_PASSWORD` (docs/external-broker.md). The test makes
 * its own CA and server certificate with openssl, on loopback only.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { copyExampleDir, spawnExample, startMosquitto } from '../helpers/processes.ts'
import { makeCertificates } from '../helpers/tls-certs.ts'

test('external mosquitto with TLS and passwords: the gateway and a real bundle connect with CA file and credentials', async (t) => {
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-tls-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const certs = await makeCertificates(dir)
  const users = { controller: 'controller-secret', example: 'example-secret' }
  const mosquitto = await startMosquitto({
    users,
    tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile },
  })
  if (!mosquitto) {
    if (process.env.CI === 'true') assert.fail('mosquitto not installed (CI must install it: see .ci/run)')
    t.skip('mosquitto not installed')
    return
  }
  defer(() => mosquitto.close())
  assert.match(mosquitto.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/)

  // a CA that did not sign the broker's certificate, or a wrong password: the start fails with a clear error
  await assert.rejects(
    startTestGateway({
      url: mosquitto.url,
      broker: { caFile: certs.otherCa, ...cred('controller'), connectTimeoutMs: 3000 },
    }),
    (err: Error & { code?: string }) => err.code === 'GW_ERR_BROKER_CONNECT',
  )
  await assert.rejects(
    startTestGateway({
      url: mosquitto.url,
      broker: { caFile: certs.caFile, username: 'controller', password: 'wrong', connectTimeoutMs: 3000 },
    }),
    (err: Error & { code?: string }) => err.code === 'GW_ERR_BROKER_CONNECT',
  )
  await assert.rejects(
    startTestGateway({
      url: mosquitto.url,
      broker: { caFile: join(dir, 'missing.pem'), ...cred('controller') },
    }),
    (err: Error & { code?: string; message: string }) =>
      err.code === 'GW_ERR_TLS_FILE' && /broker\.caFile/.test(err.message),
  )

  const started = Date.now()
  const gw = await startTestGateway({
    url: mosquitto.url,
    broker: { caFile: certs.caFile, ...cred('controller') },
  })
  defer(() => gw.close())
  t.diagnostic(`gateway connected over TLS in ${Date.now() - started} ms`)
  assert.equal(gw.broker, undefined, 'no embedded broker in external mode')

  const exampleDir = await copyExampleDir()
  defer(() => rm(exampleDir, { recursive: true, force: true }))
  const example = spawnExample({
    brokerUrl: mosquitto.url,
    dir: exampleDir,
    env: { BROKER_CA_FILE: certs.caFile, BROKER_USERNAME: 'example', BROKER_PASSWORD: users.example },
  })
  defer(() => example.stop())
  await example.ready
  t.diagnostic(`example spawn → registered over TLS: ${Date.now() - example.spawnedAt} ms`)
  const res = await fetch(`${gw.httpUrl}/api/v1/example`, { headers: { 'mx-api-token': gw.rootToken } })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), { key: 'value' })

  function cred(user: keyof typeof users) {
    return { username: user, password: users[user] }
  }
})
