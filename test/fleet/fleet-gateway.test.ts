/**
 * A gateway whose fleet broker is unreachable from the start (issue 18): it starts, local traffic is untouched,
 * remote calls answer 503 at once, `/remote` belongs to the fleet built-in, `/api/v1/gateways` says so.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runCli } from '../helpers/cli.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { freePort } from '../helpers/processes.ts'
import { RawBundle } from '../helpers/raw-bundle.ts'

test('[WP-69] no central broker: local traffic works, remote calls answer 503 at once, /remote is reserved', async (t) => {
  const defer = lifo(t)
  const deadPort = await freePort() // nothing listens there
  const gw = await startTestGateway({
    fleet: { url: `mqtt://127.0.0.1:${deadPort}`, localId: 'cg-lonely', trust: '' },
  })
  defer(() => gw.close())
  const bundle = await RawBundle.connect(gw, undefined)
  defer(() => bundle.client.endAsync())
  assert.equal((await bundle.register('thing', 'model', ['/thing'])).code, 200)
  const refused = await bundle.register('squatter', 'model', ['/remote/cg-x'])
  assert.equal(refused.code, 409, JSON.stringify(refused))
  const api = (path: string) =>
    fetch(`${gw.httpUrl}/api/v1${path}`, { headers: { 'mx-api-token': gw.rootToken } })
  const remote = await api('/cg-other/thing')
  assert.equal(remote.status, 503)
  assert.equal(((await remote.json()) as { code: string }).code, 'GW_ERR_FLEET_UPLINK_DOWN')
  const list = (await (await api('/gateways')).json()) as {
    self: { localId: string; uplink: { connected: boolean } }
  }
  assert.deepEqual([list.self.localId, list.self.uplink.connected], ['cg-lonely', false])
  const health = await fetch(`${gw.httpUrl}/ready`)
  assert.equal(health.status, 200, 'ready without the uplink')
})

test('bundlegate start --hub: refused without fleet.url, and with --example', async () => {
  const bare = await runCli(['start', '--hub', '--no-auth', '--http-port', '0'])
  assert.notEqual(bare.code, 0)
  assert.match(bare.stderr, /--hub needs fleet\.url/)
  const withExample = await runCli(['start', '--hub', '--example'])
  assert.notEqual(withExample.code, 0)
  assert.match(withExample.stderr, /--hub runs no bundles/)
})

test('fleet.url without fleet.localId: the start fails with GW_ERR_CONFIG_INVALID', async () => {
  await assert.rejects(
    startTestGateway({ fleet: { url: 'mqtt://127.0.0.1:1' } }),
    (err: Error & { code?: string }) =>
      err.code === 'GW_ERR_CONFIG_INVALID' && /fleet\.localId/.test(err.message),
  )
})
