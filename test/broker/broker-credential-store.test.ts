/**
 * The broker credential store (docs/security.md): passwords shown once and kept as SHA-256, the user name bound to
 * the credential, revocations seen at once by another connection to the same file (the CLI while the gateway runs).
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { BrokerCredentialStore } from '../../src/broker/index.ts'
import { lifo } from '../helpers/gateway.ts'

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-credstore-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

test('verify: the right pair passes; malformed, unknown, another user name and revoked ones do not', async (t) => {
  const defer = lifo(t)
  const dir = await tempDir(t)
  assert.equal(BrokerCredentialStore.exists(dir), false)
  const store = BrokerCredentialStore.open(dir)
  defer(() => store.close())
  assert.equal(BrokerCredentialStore.exists(dir), true)
  const a = store.create('thermo')
  const b = store.create('thermo', { description: 'second device' })
  assert.notEqual(a.password, b.password)
  assert.equal(store.verify('thermo', a.password).ok, true)
  assert.equal(store.verify('thermo', b.password).ok, true)
  assert.deepEqual(store.verify('thermo', 'hunter2'), { ok: false, reason: 'malformed' })
  const other = a.password.endsWith('A') ? 'B' : 'A'
  assert.deepEqual(store.verify('thermo', `${a.password.slice(0, -1)}${other}`), {
    ok: false,
    reason: 'unknown',
  })
  assert.deepEqual(store.verify('Thermo', a.password), { ok: false, reason: 'unknown' })
  assert.deepEqual(store.verify('thermo-view', a.password), { ok: false, reason: 'unknown' })
  // revoke one by id: the other stays
  assert.deepEqual(
    store.revoke(a.credential.id).map((c) => c.id),
    [a.credential.id],
  )
  assert.deepEqual(store.verify('thermo', a.password), { ok: false, reason: 'revoked' })
  assert.equal(store.verify('thermo', b.password).ok, true)
  assert.deepEqual(store.revoke(a.credential.id), [], 'revoking twice revokes nothing')
  assert.deepEqual(
    store.active('thermo').map((c) => c.id),
    [b.credential.id],
  )
  const used = store.list().find((c) => c.id === b.credential.id)
  assert.ok(used?.lastUsedAt, 'an accepted CONNECT is recorded')
})

test('a revocation by another connection (the CLI) is seen at once; only hashes are stored', async (t) => {
  const defer = lifo(t)
  const dir = await tempDir(t)
  const gateway = BrokerCredentialStore.open(dir)
  defer(() => gateway.close())
  const cli = BrokerCredentialStore.open(dir)
  defer(() => cli.close())
  const c = gateway.create('pump')
  assert.equal(gateway.verify('pump', c.password).ok, true)
  assert.equal(cli.revoke('pump').length, 1)
  assert.deepEqual(gateway.verify('pump', c.password), { ok: false, reason: 'revoked' })
  assert.equal(gateway.isActive(c.credential.id), false)
  const db = new Database(join(dir, 'broker-credentials.db'), { readonly: true })
  defer(() => db.close())
  const rows = db.prepare('SELECT * FROM credentials').all() as Array<Record<string, unknown>>
  assert.equal(rows.length, 1)
  assert.ok(!JSON.stringify(rows).includes(c.password.slice(4)), 'the password is nowhere in the row')
  assert.equal((rows[0]?.hash as Buffer | undefined)?.length, 32)
})

test('bad names and descriptions are refused; a newer schema and a closed store give the store error', async (t) => {
  const dir = await tempDir(t)
  const store = BrokerCredentialStore.open(dir)
  for (const name of ['', 'a_b', 'a/b', '#', 'x'.repeat(65)])
    assert.throws(() => store.create(name), { code: 'GW_ERR_BROKER_CREDENTIAL_INVALID' }, name)
  assert.throws(() => store.create('ok', { description: '  ' }), { code: 'GW_ERR_BROKER_CREDENTIAL_INVALID' })
  store.close()
  assert.throws(() => store.list(), { code: 'GW_ERR_BROKER_CREDENTIAL_STORE' })
  const db = new Database(join(dir, 'broker-credentials.db'))
  db.pragma('user_version = 99')
  db.close()
  assert.throws(() => BrokerCredentialStore.open(dir), { code: 'GW_ERR_BROKER_CREDENTIAL_STORE' })
})
