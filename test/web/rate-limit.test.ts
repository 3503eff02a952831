import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { ControllerCore } from '../../src/controller/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { startGateway } from '../../src/server.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { buildWebService } from '../../src/web/index.ts'
import { addressKey } from '../../src/web/rate-limit/address-key.ts'
import { BucketMap } from '../../src/web/rate-limit/bucket-map.ts'
import { lifo } from '../helpers/gateway.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

/** A manual monotonic clock for the limiter. */
function manualClock() {
  let ms = 1_000
  return {
    now: () => ms,
    advance: (by: number) => {
      ms += by
    },
  }
}

describe('BucketMap: token buckets by key', () => {
  test('a burst, then refusals with a whole-second Retry-After, then recovery as the bucket refills', () => {
    const clock = manualClock()
    const b = new BucketMap({ perSecond: 2, burst: 3 }, { now: clock.now })
    assert.deepEqual(
      [b.take('k'), b.take('k'), b.take('k')].map((x) => [x.ok, x.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
      ],
    )
    assert.deepEqual(b.take('k'), { ok: false, remaining: 0, retryAfterSec: 1 })
    clock.advance(499)
    assert.equal(b.take('k').ok, false, 'half a request is not a request')
    clock.advance(1)
    assert.equal(b.take('k').ok, true, 'one request back after 1/perSecond')
    assert.equal(b.take('other').ok, true, 'keys do not share buckets')
    const slow = new BucketMap({ perSecond: 1, burst: 1 }, { now: clock.now })
    slow.take('k')
    assert.equal(slow.take('k').retryAfterSec, 1)
    const slower = new BucketMap({ perSecond: 1, burst: 5 }, { now: clock.now })
    for (let i = 0; i < 5; i++) slower.take('k')
    assert.equal(slower.emptyFor('k'), 1)
    assert.equal(slower.emptyFor('never-seen'), 0)
  })

  test('memory-bounded: refilled (idle) buckets are swept, and never more than maxKeys are kept', () => {
    const clock = manualClock()
    const b = new BucketMap({ perSecond: 10, burst: 10 }, { now: clock.now, maxKeys: 100 })
    for (let i = 0; i < 50; i++) b.take(`a${i}`)
    assert.equal(b.size, 50)
    clock.advance(2_000) // every bucket is full again
    b.take('fresh')
    assert.equal(b.size, 1, 'the idle buckets went')
    for (let i = 0; i < 1_000; i++) b.take(`k${i}`)
    assert.ok(b.size <= 100, `size ${b.size}`)
  })
})

/** The web service alone (no broker), with a manual clock for the limiter and a real token store. */
async function webService(
  t: { after: (fn: () => Promise<void>) => void },
  limits: { perSecond: number; burst: number; anonPerSecond: number; anonBurst: number },
) {
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-ratelimit-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const tokens = TokenStore.open(dir, { logger: silentLogger() })
  defer(() => tokens.close())
  const core = new ControllerCore({ publish() {} }, { logger: silentLogger() })
  defer(() => core.close())
  const clock = manualClock()
  const app = buildWebService({
    core,
    tokens,
    logger: silentLogger(),
    ready: () => undefined,
    rateLimit: { ...limits, now: clock.now },
  })
  defer(() => app.close())
  const admin = tokens.create({ description: 'admin', scope: 'admin', root: true }).secret
  const get = (url: string, token?: string, remoteAddress = '127.0.0.1') =>
    app.inject({
      method: 'GET',
      url,
      remoteAddress,
      headers: token === undefined ? {} : { 'mx-api-token': token },
    })
  return { app, tokens, clock, admin, get }
}

describe('addressKey: what a client address is limited under', () => {
  test('IPv4 as is (also IPv4-mapped); IPv6 by its /64 prefix, however it is written; loopback exempt', () => {
    assert.equal(addressKey('10.0.0.7'), '10.0.0.7')
    assert.equal(addressKey('::ffff:10.0.0.7'), '10.0.0.7')
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64')
    assert.equal(addressKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64')
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64')
    assert.equal(addressKey('::1'), undefined, 'loopback is not limited')
    assert.equal(addressKey('127.0.0.1'), undefined)
    assert.equal(addressKey('127.9.9.9'), undefined)
    assert.equal(addressKey('::ffff:127.0.0.1'), undefined)
    assert.equal(addressKey('0:0:0:0:0:0:0:1'), undefined)
    assert.equal(addressKey('::2'), '0:0:0:0::/64')
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
    assert.equal(addressKey('not an address'), 'not an address')
  })
})

describe('rate limits [HA-12]', () => {
  test('429 after the burst with Retry-After and GW_ERR_RATE_LIMITED; RateLimit-* headers; recovery after the refill; tokens are isolated', async (t) => {
    const { tokens, clock, get } = await webService(t, {
      perSecond: 1,
      burst: 3,
      anonPerSecond: 1,
      anonBurst: 5,
    })
    const a = tokens.create({ description: 'a', scope: 'read' }).secret
    const b = tokens.create({ description: 'b', scope: 'readwrite' }).secret
    const seen: Array<[number, unknown]> = []
    for (let i = 0; i < 3; i++) {
      const res = await get('/api/v1/bundles', a)
      seen.push([res.statusCode, res.headers['ratelimit-remaining']])
      assert.equal(res.headers['ratelimit-limit'], '3')
    }
    assert.deepEqual(seen, [
      [200, '2'],
      [200, '1'],
      [200, '0'],
    ])
    const limited = await get('/api/v1/bundles', a)
    assert.equal(limited.statusCode, 429)
    assert.equal(limited.headers['retry-after'], '1')
    assert.equal(limited.json().code, 'GW_ERR_RATE_LIMITED')
    assert.match(limited.json().message, /too many requests for token \S+; retry in 1 s/)
    assert.equal((await get('/api/v1/bundles', b)).statusCode, 200, 'another token has its own bucket')
    clock.advance(999)
    assert.equal((await get('/api/v1/bundles', a)).statusCode, 429)
    clock.advance(1)
    assert.equal((await get('/api/v1/bundles', a)).statusCode, 200, 'one more after 1 s')
    assert.equal((await get('/api/v1/bundles', a)).statusCode, 429)
    clock.advance(3_000)
    for (let i = 0; i < 3; i++)
      assert.equal((await get('/api/v1/bundles', a)).statusCode, 200, 'the whole burst back')
  })

  test('admin tokens are not limited; GET /api/v1/tokens shows each token its effective limit', async (t) => {
    const { tokens, admin, get } = await webService(t, {
      perSecond: 1,
      burst: 2,
      anonPerSecond: 1,
      anonBurst: 5,
    })
    tokens.create({ description: 'reader', scope: 'read' })
    for (let i = 0; i < 20; i++) assert.equal((await get('/api/v1/bundles', admin)).statusCode, 200)
    const list = (await get('/api/v1/tokens', admin)).json() as Array<{ scope: string; rateLimit: unknown }>
    assert.deepEqual(
      list.map((x) => [x.scope, x.rateLimit]).sort(),
      [
        ['admin', null],
        ['read', { perSecond: 1, burst: 2 }],
      ].sort(),
    )
  })

  test('failed authentication is limited per client address; then its credentials are not even checked', async (t) => {
    const { tokens, clock, get } = await webService(t, {
      perSecond: 100,
      burst: 100,
      anonPerSecond: 1,
      anonBurst: 2,
    })
    const good = tokens.create({ description: 'good', scope: 'read' }).secret
    // (inject: no packet leaves the process; the addresses are documentation ranges, RFC 5737 and RFC 3849)
    const from = '192.0.2.10'
    assert.equal((await get('/api/v1/bundles', 'bgt_guess1', from)).statusCode, 401)
    assert.equal((await get('/api/v1/bundles', 'bgt_guess2', from)).statusCode, 401)
    const refused = await get('/api/v1/bundles', 'bgt_guess3', from)
    assert.equal(refused.statusCode, 429)
    assert.equal(refused.headers['retry-after'], '1')
    assert.match(refused.json().message, /from 192\.0\.2\.10/)
    // a guess that would be right is refused too while the address is out of attempts: guessing is slowed down
    assert.equal((await get('/api/v1/bundles', good, from)).statusCode, 429)
    assert.equal((await get('/api/v1/bundles', undefined, from)).statusCode, 401, 'no credential: plain 401')
    assert.equal((await get('/api/v1/bundles', 'bgt_x', '192.0.2.11')).statusCode, 401, 'another address')
    assert.equal((await get('/health', 'bgt_x', from)).statusCode, 200, 'routes without auth are not limited')
    // IPv6 clients are limited by /64: a host cannot take a fresh bucket with each of its addresses
    assert.equal((await get('/api/v1/bundles', 'bgt_a', '2001:db8::1')).statusCode, 401)
    assert.equal((await get('/api/v1/bundles', 'bgt_b', '2001:db8::2')).statusCode, 401)
    assert.equal((await get('/api/v1/bundles', 'bgt_c', '2001:db8::3')).statusCode, 429)
    assert.equal((await get('/api/v1/bundles', 'bgt_d', '2001:db8:0:1::3')).statusCode, 401, 'another /64')
    // loopback is exempt: the device's own processes share it, one failing must not lock the others out
    for (let i = 0; i < 10; i++) {
      assert.equal((await get('/api/v1/bundles', 'bgt_local', '127.0.0.1')).statusCode, 401)
    }
    assert.equal((await get('/api/v1/bundles', good, '127.0.0.1')).statusCode, 200)
    clock.advance(1_000)
    assert.equal((await get('/api/v1/bundles', good, from)).statusCode, 200, 'back after the refill')
  })
})

describe('rate limits and the push channel [HA-12]', () => {
  test('an event stream counts once, when it connects, however long it stays open', async (t) => {
    const { app, tokens, get } = await webService(t, {
      perSecond: 1,
      burst: 3,
      anonPerSecond: 1,
      anonBurst: 5,
    })
    const read = tokens.create({ description: 'watcher', scope: 'read' }).secret
    const url = await app.listen({ host: '127.0.0.1', port: 0 })
    const abort = new AbortController()
    t.after(() => abort.abort())
    const stream = await fetch(`${url}/api/v1/events?resource=/x/%23`, {
      headers: { 'mx-api-token': read },
      signal: abort.signal,
    })
    assert.equal(stream.status, 200)
    assert.match(String(stream.headers.get('content-type')), /^text\/event-stream/)
    // the clock does not move: the stream took one of the 3, two are left
    const r1 = await get('/api/v1/bundles', read)
    const r2 = await get('/api/v1/bundles', read)
    assert.deepEqual(
      [r1.statusCode, r1.headers['ratelimit-remaining'], r2.statusCode, r2.headers['ratelimit-remaining']],
      [200, '1', 200, '0'],
    )
    assert.equal((await get('/api/v1/bundles', read)).statusCode, 429)
    abort.abort()
  })
})

describe('rate limits end to end [HA-12]', () => {
  test('the bundle never sees a limited request (counting bundle, its own process)', {
    timeout: 60_000,
  }, async (t) => {
    const defer = lifo(t)
    const dir = await mkdtemp(join(tmpdir(), 'bg-ratelimit-e2e-'))
    defer(() => rm(dir, { recursive: true, force: true }))
    const config = await loadConfig({
      env: {},
      flags: {
        broker: { host: '127.0.0.1', port: 0 },
        // the console is beside the point here
        http: { host: '127.0.0.1', port: 0, rateLimitPerSec: 1, rateLimitBurst: 5, console: false },
        data: { dir: join(dir, 'gw'), tokenFile: join(dir, 'gw', 'mx-api-token') },
        log: { level: 'silent' },
      },
    })
    const gw = await startGateway(config, { logger: silentLogger() })
    defer(() => gw.close())
    const root = (await readFile(gw.tokenFile!, 'utf8')).trim()
    const bundleDir = join(dir, 'counting')
    await import('node:fs/promises').then((fs) => fs.mkdir(bundleDir))
    await writeFile(
      join(bundleDir, 'bundle.json'),
      JSON.stringify({
        name: 'counting',
        version: '0.0.1',
        description: 'counts the requests it receives',
        role: 'model',
        ttl: 2,
        resources: [
          { resource: '/counted', methods: ['get', 'post', 'put', 'delete'] },
          { resource: '/counted/count', methods: ['get'] },
          { resource: '/counted/hang', methods: ['get'] },
        ],
      }),
    )
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--conditions=bundlegate-dev',
        '--import',
        'tsx',
        join(REPO_ROOT, 'test', 'helpers', 'counting-bundle.ts'),
      ],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          BROKER_URL: gw.brokerUrl,
          BUNDLE_DIR: bundleDir,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const exited = new Promise((resolve) => child.once('exit', resolve))
    defer(async () => {
      child.kill('SIGKILL')
      await exited
    })
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(
        () => reject(new Error(`the counting bundle did not register: ${out}`)),
        20_000,
      )
      child.stdout!.on('data', (d: Buffer) => {
        out += d
        if (out.includes('counting-bundle registered')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => reject(new Error(`the counting bundle exited (${code}): ${out}`)))
    })

    const read = gw.tokens!.create({ description: 'limited', scope: 'read' }).secret
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${gw.httpUrl}/api/v1/counted`, { headers: { 'mx-api-token': read } })
      statuses.push(res.status)
      await res.arrayBuffer()
    }
    const ok = statuses.filter((s) => s === 200).length
    const limited = statuses.filter((s) => s === 429).length
    assert.equal(ok + limited, 20, `statuses ${statuses.join(',')}`)
    assert.ok(ok >= 5 && limited >= 1, `the burst of 5 passes, then 429: ${statuses.join(',')}`)
    // the root token (admin) is not limited: ask the bundle how many requests reached it
    const count = await fetch(`${gw.httpUrl}/api/v1/counted/count`, { headers: { 'mx-api-token': root } })
    assert.deepEqual(await count.json(), { count: ok }, 'exactly the allowed requests reached the bundle')
    t.diagnostic(`${ok} allowed, ${limited} refused with 429; the bundle counted ${ok}`)
  })
})
