/**
 * The uplink over TLS (issue 18): mosquitto with its own CA, a password file and the documented ACL; gateway cg-a
 * and a hub in-process with `fleet.url` mqtts:// and `fleet.caFile`. A gateway trusting another CA never connects,
 * and still serves its local traffic.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { findMosquitto, startMosquitto } from '../helpers/processes.ts'
import { dataOf, RawBundle } from '../helpers/raw-bundle.ts'
import { makeCertificates } from '../helpers/tls-certs.ts'
import { documentedAcl, eventually, memberFleet, PASSWORDS } from './fleet-harness.ts'

const skip = findMosquitto() === undefined ? 'mosquitto is not installed' : false

test('fleet uplink over TLS with a CA file and passwords; a wrong CA never connects', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-fleet-tls-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const certs = await makeCertificates(dir)
  const central = await startMosquitto({
    users: PASSWORDS,
    acl: await documentedAcl(),
    tls: { caFile: certs.caFile, certFile: certs.certFile, keyFile: certs.keyFile },
    conf: ['set_tcp_nodelay true'],
  })
  assert.ok(central)
  defer(() => central.close())
  assert.match(central.url, /^mqtts:/)
  const fleet = (id: 'cg-a' | 'cg-b' | 'cg-hub', caFile: string) =>
    memberFleet(central, id, { caFile, trust: 'cg-hub=read' })
  const a = await startTestGateway({ fleet: fleet('cg-a', certs.caFile) })
  defer(() => a.close())
  const bundle = await RawBundle.connect(a, undefined)
  defer(() => bundle.client.endAsync())
  bundle.serve(String(dataOf(await bundle.register('thing', 'model', ['/thing'])).tunnel), 'thing', {
    tls: true,
  })
  const hub = await startTestGateway({ fleet: fleet('cg-hub', certs.caFile) })
  defer(() => hub.close())
  const get = (gw: typeof hub, path: string) =>
    fetch(`${gw.httpUrl}/api/v1${path}`, { headers: { 'mx-api-token': gw.rootToken } })
  await eventually(
    async () => (await get(hub, '/cg-a/thing')).status === 200,
    15_000,
    'a remote call over TLS',
  )
  assert.deepEqual(await (await get(hub, '/cg-a/thing')).json(), { tls: true })

  const wrong = await startTestGateway({ fleet: fleet('cg-b', certs.otherCa) })
  defer(() => wrong.close())
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal(wrong.fleet?.connected, false)
  const r = await get(wrong, '/cg-a/thing')
  assert.equal(r.status, 503)
  assert.equal(((await r.json()) as { code: string }).code, 'GW_ERR_FLEET_UPLINK_DOWN')
  assert.equal((await fetch(`${wrong.httpUrl}/ready`)).status, 200)
  assert.equal(hub.fleet?.directory.get('cg-b'), undefined, 'never seen on the broker')
})
