/**
 * users.db and broker-credentials.db on a full disk behave like tokens.db (issue 13 step 5, docs/reliability.md
 * "Full disk and read-only data directory"): a write the disk refuses is the store's 507 error naming the file and
 * the cause, nothing is half written, what was stored keeps working, writes resume when space is back, and the file
 * passes `integrity_check`. The same technique as disk-full.test.ts: a real, small tmpfs filled to the last byte
 * (small-fs.ts); skipped, with the reason, where the kernel refuses the mount.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { BrokerCredentialStore } from '../../src/broker/index.ts'
import { loadConfig } from '../../src/config/index.ts'
import { GatewayError } from '../../src/errors.ts'
import { type Gateway, startGateway } from '../../src/server.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo, logSink } from '../helpers/gateway.ts'
import { login, withSession } from '../web/console-helpers.ts'
import { smallFsOrSkip } from './small-fs.ts'

const TEST_TIMEOUT_MS = 60_000

function integrity(file: string, table: string): { integrity: string; rows: number } {
  const db = new Database(file, { readonly: true })
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }) as string,
      rows: db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number,
    }
  } finally {
    db.close()
  }
}

/** The error `fn` throws (it must throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  assert.fail('expected a throw')
}

test('broker credential store on a full disk: creating answers 507 GW_ERR_BROKER_CREDENTIAL_FULL naming the file, revoking too, issued credentials keep verifying, writes resume when space is back, integrity_check ok', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const defer = lifo(t)
  const fs = await smallFsOrSkip(t, 2 * 1024 * 1024)
  if (!fs) return
  defer(() => fs.close())
  const dataDir = join(fs.dir, 'gateway')
  const sink = logSink('warn')
  const store = BrokerCredentialStore.open(dataDir, { logger: sink.logger })
  defer(() => store.close())
  const issued = [store.create('thermo'), store.create('pump')]

  t.diagnostic(`tmpfs filled with ${(fs.fill() / 1024).toFixed(0)} KiB of filler (ENOSPC)`)
  // SQLite may still fit a commit or two into pages it already owns (the WAL); the first refused one must be 507.
  let refused: unknown
  let fitted = 0
  for (let i = 0; i < 200 && refused === undefined; i++) {
    try {
      issued.push(store.create(`bundle-${i}`, { description: 'x'.repeat(200) }))
      fitted++
    } catch (err) {
      refused = err
    }
  }
  t.diagnostic(`credential creations that still fitted after the fill: ${fitted}`)
  assert.ok(refused instanceof GatewayError, `refused with ${String(refused)}`)
  assert.equal(refused.code, 'GW_ERR_BROKER_CREDENTIAL_FULL')
  assert.equal(refused.statusCode, 507)
  assert.match(refused.message, /broker-credentials\.db cannot be written: no space left on the device/)
  for (let i = 0; i < 3; i++) {
    const again = thrown(() => store.create(`still-full-${i}`))
    assert.equal((again as GatewayError).code, 'GW_ERR_BROKER_CREDENTIAL_FULL', 'refused while full')
  }
  const revoke = thrown(() => store.revoke('thermo'))
  assert.equal((revoke as GatewayError).code, 'GW_ERR_BROKER_CREDENTIAL_FULL', 'a revocation is refused too')
  assert.equal(store.hasActive('thermo'), true, 'the refused revocation left the credential active')
  for (const c of issued)
    assert.equal(store.verify(c.username, c.password).ok, true, `${c.username} verifies`)
  assert.ok(
    sink.lines.some(
      (l) => l.level === 50 && String(l.msg).includes('broker credential store cannot be written'),
    ),
    'the failure is logged as an error',
  )
  // The CLI, opening the same file while it is full, says so in one line.
  const cli = await runCli(['broker-credentials', 'create', 'valve', '--data-dir', dataDir])
  t.diagnostic(`CLI: ${cli.stderr.trim()}`)
  assert.equal(cli.code, 1)
  assert.match(cli.stderr, /GW_ERR_BROKER_CREDENTIAL_FULL/)
  assert.doesNotMatch(cli.stderr, /\n\s+at /)

  await fs.free()
  const after = store.create('after-space-is-back')
  assert.equal(store.verify(after.username, after.password).ok, true)
  assert.equal(store.revoke('thermo').length, 1)
  store.close()
  const check = integrity(join(dataDir, 'broker-credentials.db'), 'credentials')
  assert.equal(check.integrity, 'ok')
  assert.equal(check.rows, issued.length + 1, 'exactly the credentials reported as created')
})

async function gatewayOn(dataDir: string, logger: Gateway['logger']): Promise<Gateway> {
  const config = await loadConfig({
    env: {},
    flags: {
      broker: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
      log: { level: 'info' },
    },
  })
  return startGateway(config, { logger })
}

test('user store on a full disk: a password change answers 507 GW_ERR_USER_STORE_FULL naming users.db, the old password still logs in, the change succeeds when space is back, integrity_check ok', {
  timeout: TEST_TIMEOUT_MS,
}, async (t) => {
  const defer = lifo(t)
  const fs = await smallFsOrSkip(t, 4 * 1024 * 1024)
  if (!fs) return
  defer(() => fs.close())
  const dataDir = join(fs.dir, 'gateway')
  const sink = logSink('info')
  const gw = await gatewayOn(dataDir, sink.logger)
  defer(() => gw.close())
  const line = sink.lines.find((l) => String(l.msg).includes('created with the initial password'))
  let current = /initial password (\S+)/.exec(String(line?.msg ?? ''))?.[1] ?? ''
  assert.ok(current, 'the first start logs the initial password')
  const s = await login(gw, current)
  const change = (next: string) => withSession(gw, 'POST', '/api/v1/auth/password', s, { current, next })

  t.diagnostic(`tmpfs filled with ${(fs.fill() / 1024).toFixed(0)} KiB of filler (ENOSPC)`)
  let refused: { status: number; body: Record<string, unknown> } | undefined
  let fitted = 0
  for (let i = 0; i < 50 && refused === undefined; i++) {
    const next = `a new password number ${i} ${'x'.repeat(200)}`
    const r = await change(next)
    if (r.statusCode === 204) {
      current = next
      fitted++
    } else refused = { status: r.statusCode, body: r.json() as Record<string, unknown> }
  }
  t.diagnostic(`password changes that still fitted after the fill: ${fitted}`)
  assert.ok(refused, 'no change refused after 50 attempts on a full disk')
  assert.equal(refused.status, 507)
  assert.equal(refused.body.code, 'GW_ERR_USER_STORE_FULL')
  assert.match(String(refused.body.message), /users\.db cannot be written: no space left on the device/)
  assert.equal(refused.body.stack, undefined)
  assert.ok(
    sink.lines.some((l) => l.level === 50 && String(l.msg).includes('user store cannot be written')),
    'the failure is logged as an error',
  )
  // the refused change changed nothing: the current password still logs in
  const again = await login(gw, current)
  assert.equal(again.body.username, 'admin')

  await fs.free()
  const next = 'the password after space is back'
  assert.equal((await change(next)).statusCode, 204)
  current = next
  await login(gw, current)
  await gw.close()
  const check = integrity(join(dataDir, 'users.db'), 'users')
  assert.equal(check.integrity, 'ok')
  assert.equal(check.rows, 1)
  assert.ok((await readFile(join(dataDir, 'users.db'))).length > 0)
})
