/**
 * `broker.auth`: validated once with the rest of the configuration; "auto" requires MQTT authentication exactly when
 * the embedded broker's host is not a loopback address (docs/security.md). Only loopback gateways are started here.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { brokerAuthRequired, isLoopbackHost } from '../../src/broker/index.ts'
import { loadConfig } from '../../src/config/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { within } from '../helpers/processes.ts'

test('"auto" requires authentication for 0.0.0.0, ::, LAN addresses and names; not for 127.0.0.1, ::1, localhost', () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'fe80::1', 'gateway.local', '[::]'])
    assert.equal(brokerAuthRequired({ host, auth: 'auto' }), true, host)
  for (const host of [
    '127.0.0.1',
    '127.0.1.1',
    '::1',
    '[::1]',
    'localhost',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
  ])
    assert.equal(brokerAuthRequired({ host, auth: 'auto' }), false, host)
  assert.equal(isLoopbackHost('128.0.0.1'), false)
  // "on" and "off" say it, whatever the host
  assert.equal(brokerAuthRequired({ host: '127.0.0.1', auth: 'on' }), true)
  assert.equal(brokerAuthRequired({ host: '0.0.0.0', auth: 'off' }), false)
})

test('broker.auth defaults to "auto", takes BUNDLEGATE_BROKER_AUTH, and refuses other values', async () => {
  assert.equal((await loadConfig({ env: {} })).broker.auth, 'auto')
  assert.equal((await loadConfig({ env: { BUNDLEGATE_BROKER_AUTH: 'on' } })).broker.auth, 'on')
  await assert.rejects(
    loadConfig({ env: {}, flags: { broker: { auth: 'maybe' as 'on' } } }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'GW_ERR_CONFIG_INVALID')
      assert.match(err.message, /broker\.auth/)
      return true
    },
  )
})

test('the loopback default changes nothing: no credential store, and a client without credentials connects', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  assert.equal(gw.config.broker.auth, 'auto')
  assert.equal(gw.broker?.auth, undefined)
  assert.equal(gw.brokerCredentials, undefined)
  const client = mqtt.connect(gw.brokerUrl, { reconnectPeriod: 0, protocolVersion: 4 })
  defer(() => client.end(true))
  await within(
    new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
    }),
    5000,
    'CONNACK',
  )
  const granted = await client.subscribeAsync('#', { qos: 0 })
  assert.equal(granted[0]?.qos, 0, 'no ACL: even # is granted')
})
