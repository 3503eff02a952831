import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  hashPassword,
  LoginThrottle,
  SessionStore,
  UserStore,
  verifyPassword,
} from '../../src/users/index.ts'

test('[HA-10] scrypt: parameters recorded with each hash, salted, verified', async () => {
  const a = await hashPassword('correct horse battery')
  const b = await hashPassword('correct horse battery')
  assert.match(a, /^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/)
  assert.notEqual(a, b, 'a fresh salt each time')
  assert.equal(await verifyPassword('correct horse battery', a), true)
  assert.equal(await verifyPassword('correct horse batterY', a), false)
  const cheap = await hashPassword('pw with other cost', { N: 1024, r: 8, p: 1 })
  assert.match(cheap, /^scrypt\$N=1024,/)
  assert.equal(await verifyPassword('pw with other cost', cheap), true, 'older parameters still verify')
  assert.equal(await verifyPassword('x', 'plain text'), false)
})

test('user store: file mode 0600, initial admin once, must-change flag', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-users-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const store = UserStore.open(dir)
  t.after(() => store.close())
  assert.equal((await stat(store.path)).mode & 0o777, 0o600)
  const first = await store.ensureAdmin()
  assert.equal(first.created, true)
  assert.ok(first.created && first.password.length >= 15)
  assert.equal(first.user.mustChangePassword, true)
  const second = await store.ensureAdmin()
  assert.equal(second.created, false)
  assert.equal((await store.verify('admin', first.created ? first.password : ''))?.username, 'admin')
  assert.equal(await store.verify('admin', 'nope'), undefined)
  assert.equal(await store.verify('ghost', 'nope'), undefined)
})

test('sessions: idle and absolute expiry, password change ends the other sessions, bounded count', () => {
  let now = 1_000_000
  const users = new Map([['admin', { mustChangePassword: false, passwordChangedAt: 't1' }]])
  const store = new SessionStore({
    idleMs: 1000,
    maxMs: 5000,
    maxSessions: 3,
    now: () => now,
    check: (u) => users.get(u),
  })
  const user = { username: 'admin', mustChangePassword: false, passwordChangedAt: 't1' }
  const a = store.create(user)
  assert.equal(store.lookup(a.id)?.username, 'admin')
  assert.equal(store.lookup(`${a.id}x`), undefined)
  // idle: each use restarts the idle timer, the absolute limit still ends it
  for (let i = 0; i < 4; i++) {
    now += 900
    assert.ok(store.lookup(a.id), `use ${i}`)
  }
  now += 1500 // 5100 ms after login, 1500 ms idle
  assert.equal(store.lookup(a.id), undefined)
  const b = store.create(user)
  now += 999
  assert.ok(store.lookup(b.id))
  now += 1000
  assert.equal(store.lookup(b.id), undefined, 'idle too long')
  // a password change through one session ends the others
  const c = store.create(user)
  const d = store.create(user)
  users.set('admin', { mustChangePassword: false, passwordChangedAt: 't2' })
  store.passwordChanged(c.id, { ...user, passwordChangedAt: 't2' })
  assert.ok(store.lookup(c.id))
  assert.equal(store.lookup(d.id), undefined)
  // changed elsewhere (the CLI): every session of the user ends at its next use
  users.set('admin', { mustChangePassword: true, passwordChangedAt: 't3' })
  assert.equal(store.lookup(c.id), undefined)
  // bounded: the least recently used session goes first
  users.set('admin', { mustChangePassword: false, passwordChangedAt: 't3' })
  const fresh = { ...user, passwordChangedAt: 't3' }
  const s1 = store.create(fresh)
  const s2 = store.create(fresh)
  const s3 = store.create(fresh)
  store.lookup(s1.id)
  const s4 = store.create(fresh)
  assert.equal(store.size, 3)
  assert.equal(store.lookup(s2.id), undefined)
  for (const s of [s1, s3, s4]) assert.ok(store.lookup(s.id))
})

test('login throttle: doubling delay with a cap, serialised per username, bounded memory', async () => {
  const slept: number[] = []
  const throttle = new LoginThrottle({
    baseDelayMs: 100,
    maxDelayMs: 1000,
    maxEntries: 50,
    sleep: async (ms) => {
      slept.push(ms)
    },
  })
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((n) => throttle.delayFor(n)),
    [0, 100, 200, 400, 800, 1000, 1000],
  )
  const fail = async () => undefined
  for (let i = 0; i < 3; i++) await throttle.attempt('admin', '10.0.0.1', fail)
  assert.deepEqual(slept, [100, 200])
  // parallel attempts run one after the other, each waiting for the failures before it; the first, from an address
  // without failures, is not delayed by the username's; after its failure the address gets the username's delay
  slept.length = 0
  const results = await Promise.all([1, 2, 3].map(() => throttle.attempt('admin', '10.0.0.2', fail)))
  assert.deepEqual(
    results.map((r) => r.waitedMs),
    [0, 800, 1000],
  )
  // at most maxQueued waiting: more are refused unchecked
  let checked = 0
  const many = await Promise.all(
    Array.from({ length: 12 }, () =>
      throttle.attempt('admin', '10.0.0.3', async () => {
        checked++
        return undefined
      }),
    ),
  )
  assert.equal(many.filter((r) => r.refused).length, 4)
  assert.equal(checked, 8)
  // memory: many addresses and usernames keep at most maxEntries counters
  for (let i = 0; i < 200; i++) await throttle.attempt(`user${i}`, `10.1.0.${i}`, fail)
  assert.ok(throttle.size <= 50, `${throttle.size} counters`)
  // forgotten after forgetMs
  let now = 0
  const forgetful = new LoginThrottle({ forgetMs: 1000, now: () => now, sleep: async () => {} })
  await forgetful.attempt('a', 'ip', fail)
  assert.equal(forgetful.failures('user:a'), 1)
  now += 1000
  assert.equal(forgetful.failures('user:a'), 0)
})
