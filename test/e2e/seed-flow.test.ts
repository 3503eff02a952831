/**
 * The ThingsPro seed flow end to end, with real processes only: the gateway started as a user starts it
 * (`bundlegate start --example`), the CLI run as separate processes on the same data directory while the gateway
 * runs, an instrumented bundle process of our own, and every call over real HTTP with fetch, on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { lifo } from '../helpers/gateway.ts'
import { copyExampleDir, REPO_ROOT, within } from '../helpers/processes.ts'

/** Every single wait of this file is bounded by this. */
const WAIT_MS = 20_000
const TEST_TIMEOUT_MS = 60_000
const COUNTING_BUNDLE = join(REPO_ROOT, 'test', 'helpers', 'counting-bundle.ts')

// ------------------------------------------------------------------------------------------ processes

/** A child's own environment: ours without anything that would change the gateway's or a bundle's configuration. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) {
    if (key.startsWith('BUNDLEGATE_') || key.startsWith('BROKER_')) delete env[key]
  }
  for (const key of ['NODE_TEST_CONTEXT', 'BUNDLE_DIR', 'LOG_LEVEL', 'BUNDLE_DEBUG', 'SANJI_ENV'])
    delete env[key]
  return { ...env, ...extra }
}

/** A Node child running TypeScript from the sources, as `npm run dev` does. */
interface NodeProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** stdout and stderr as they came. */
  output(): string
  stdout(): string
  stderr(): string
  /** Resolves with the first match of `re` in the output; rejects after `ms` or when the process exits first. */
  waitFor(re: RegExp, ms: number, what: string): Promise<RegExpExecArray>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  running(): boolean
}

const live = new Set<number>()
process.once('exit', () => {
  for (const pid of live) killQuietly(pid, 'SIGKILL') // last resort after a crash: no orphans
})

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): NodeProcess {
  const child = spawn(process.execPath, ['--conditions=bundlegate-dev', '--import', 'tsx', ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`cannot spawn node ${args.join(' ')}`)
  live.add(pid)
  let out = ''
  let stdout = ''
  let stderr = ''
  const listeners = new Set<() => void>()
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    stdout += chunk.toString()
    for (const l of listeners) l()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    stderr += chunk.toString()
    for (const l of listeners) l()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': the output is complete by then
    child.once('close', (code, signal) => {
      live.delete(pid)
      for (const l of listeners) l()
      resolve({ code, signal })
    })
  })
  const running = () => child.exitCode === null && child.signalCode === null
  return {
    child,
    pid,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    running,
    waitFor(re, ms, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(out)
          if (m) {
            done()
            resolve(m)
          } else if (!running()) {
            done()
            reject(new Error(`process exited before ${what}; output:\n${out}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${out}`))
        }, ms)
        const done = () => {
          clearTimeout(timer)
          listeners.delete(check)
        }
        listeners.add(check)
        check()
      })
    },
  }
}

/**
 * The pids of `pid`'s children (`pgrep -P`), less tsx's esbuild service: the gateway runs from source here, and tsx
 * may have its transformer process alive at the moment we look (the compiled gateway has none).
 */
async function childPids(pid: number): Promise<number[]> {
  const p = spawn('pgrep', ['-P', String(pid)], { stdio: ['ignore', 'pipe', 'ignore'] })
  let out = ''
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  await within(new Promise((resolve) => p.once('close', resolve)), WAIT_MS, `pgrep -P ${pid}`)
  return out
    .split('\n')
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number)
    .filter((child) => !commandLine(child).includes('esbuild'))
}

/** The command line of `pid`, or '' when it is gone. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A gateway process started exactly as a user starts it, with its own temp data dir and example bundle copy. */
interface GatewayProcess {
  readonly proc: NodeProcess
  readonly webUrl: string
  readonly brokerUrl: string
  readonly dataDir: string
  readonly tokenFile: string
  readonly bundleDir: string
  /** Spawn to "example registered", ms. */
  readonly readyMs: number
  /** The example bundle's pid (the gateway's only child). */
  readonly examplePid: number
  /** The CLI, as its own process, on this gateway's data directory. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>
}

/**
 * `node --conditions=bundlegate-dev --import tsx src/cli/bin.ts start --example --http-port 0 --broker-port 0 …`.
 * `defer` receives the cleanup (kill the example and the gateway, remove the temp dirs) before anything is awaited.
 */
async function startGatewayProcess(defer: (fn: () => unknown) => void): Promise<GatewayProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-seed-data-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const bundleDir = await copyExampleDir()
  defer(() => rm(bundleDir, { recursive: true, force: true }))
  const tokenFile = join(dataDir, 'mx-api-token')
  const started = Date.now()
  const proc = spawnNode(
    [
      'src/cli/bin.ts',
      'start',
      '--example',
      '--http-port',
      '0',
      '--broker-port',
      '0',
      '--data-dir',
      dataDir,
      '--token-file',
      tokenFile,
    ],
    cleanEnv({ BUNDLE_DIR: bundleDir, LOG_LEVEL: 'warn' }),
  )
  const known = new Set<number>()
  defer(async () => {
    if (proc.running()) for (const pid of await childPids(proc.pid).catch(() => [])) known.add(pid)
    for (const pid of known) killQuietly(pid, 'SIGKILL')
    if (proc.running()) proc.child.kill('SIGKILL')
    await within(proc.exited, WAIT_MS, 'the gateway to exit').catch(() => {})
    for (const pid of known) live.delete(pid)
  })
  await proc.waitFor(/example {5}registered/, WAIT_MS, 'the banner line "example     registered"')
  const readyMs = Date.now() - started
  const out = proc.output()
  const webUrl = /^ {2}web service (http:\/\/\S+)\/api\/v1$/m.exec(out)?.[1]
  const brokerUrl = /^ {2}broker {6}(mqtt:\/\/\S+) \(embedded\)$/m.exec(out)?.[1]
  assert.ok(webUrl && brokerUrl, `no web service or broker URL in the banner:\n${out}`)
  const children = await childPids(proc.pid)
  for (const pid of children) {
    known.add(pid)
    live.add(pid)
  }
  assert.equal(children.length, 1, `the gateway has exactly one child, the example bundle: ${children}`)
  return {
    proc,
    webUrl,
    brokerUrl,
    dataDir,
    tokenFile,
    bundleDir,
    readyMs,
    examplePid: children[0] as number,
    async cli(args) {
      const p = spawnNode(
        ['src/cli/bin.ts', ...args, '--data-dir', dataDir, '--token-file', tokenFile],
        cleanEnv(),
      )
      const { code } = await within(p.exited, WAIT_MS, `bundlegate ${args.join(' ')}`).catch((err) => {
        p.child.kill('SIGKILL')
        throw err
      })
      return { code, stdout: p.stdout(), stderr: p.stderr() }
    },
  }
}

// ------------------------------------------------------------------------------------------ HTTP

interface Answer {
  status: number
  headers: Headers
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown
  ms: number
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { token?: string; json?: unknown; body?: string; type?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers['mx-api-token'] = options.token
  let body: string | undefined = options.body
  if (options.json !== undefined) body = JSON.stringify(options.json)
  if (body !== undefined) headers['content-type'] = options.type ?? 'application/json'
  const started = performance.now()
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(WAIT_MS),
  })
  const text = await res.text()
  const ms = Math.round(performance.now() - started)
  let parsed: unknown
  if (text !== '') {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = text
    }
  }
  return { status: res.status, headers: res.headers, body: parsed, ms }
}

function assertError(answer: Answer, status: number, code: string, message?: RegExp): void {
  assert.equal(answer.status, status, `expected ${status} ${code}, got ${JSON.stringify(answer)}`)
  const body = answer.body as { code?: unknown; message?: unknown }
  assert.equal(body.code, code, JSON.stringify(body))
  assert.equal(typeof body.message, 'string')
  if (message) assert.match(body.message as string, message)
}

async function fileMode(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8).padStart(4, '0')
}

// ------------------------------------------------------------------------------------------ the flow

describe('the ThingsPro seed flow with real processes over real HTTP', () => {
  const cleanup = lifo({ after })
  let gw: GatewayProcess
  let api: string
  let root: string
  /** The instrumented bundle (test/helpers/counting-bundle.ts), ttl 2. */
  let counting: NodeProcess

  const get = (path: string, token?: string) => call(api, 'GET', path, token === undefined ? {} : { token })
  const put = (path: string, json: unknown, token?: string) =>
    call(api, 'PUT', path, token === undefined ? { json } : { json, token })

  before(
    async () => {
      gw = await startGatewayProcess(cleanup)
      api = `${gw.webUrl}/api/v1`
      root = (await readFile(gw.tokenFile, 'utf8')).trim()

      const dir = await mkdtemp(join(tmpdir(), 'bg-seed-counting-'))
      cleanup(() => rm(dir, { recursive: true, force: true }))
      await writeFile(
        join(dir, 'bundle.json'),
        JSON.stringify({
          name: 'counting',
          version: '0.0.1',
          description: 'counts the requests it receives (e2e)',
          role: 'model',
          ttl: 2,
          resources: [
            { resource: '/counted', methods: ['get', 'post', 'put', 'delete'] },
            { resource: '/counted/count', methods: ['get'] },
            { resource: '/counted/hang', methods: ['get'] },
          ],
        }),
      )
      counting = spawnNode(
        [COUNTING_BUNDLE],
        cleanEnv({ BROKER_URL: gw.brokerUrl, BUNDLE_DIR: dir, LOG_LEVEL: 'warn' }),
      )
      cleanup(async () => {
        if (counting.running()) counting.child.kill('SIGKILL')
        await within(counting.exited, WAIT_MS, 'the counting bundle to exit').catch(() => {})
      })
      await counting.waitFor(/counting-bundle registered/, WAIT_MS, 'the counting bundle to register')
    },
    { timeout: 2 * WAIT_MS + 10_000 },
  )

  test('start: the banner names the web service and broker on 127.0.0.1 and the token file, which has mode 0600 and one secret [HA-1] [HA-8]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    t.diagnostic(`spawn to "example registered": ${gw.readyMs} ms (tsx from source)`)
    assert.match(gw.webUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
    assert.match(gw.brokerUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/)
    const out = gw.proc.output()
    assert.match(out, /^Bundlegate ready in \d+ ms$/m)
    assert.ok(out.includes(`  root token  ${gw.tokenFile}\n`), out)
    assert.ok(!out.includes(root), 'the banner never shows the secret [HA-8]')
    assert.equal(await fileMode(gw.tokenFile), '0600')
    const text = await readFile(gw.tokenFile, 'utf8')
    assert.match(text, /^bgt_[A-Za-z0-9_-]{43}\n$/, 'one secret and a newline')
  })

  test('GET /api/v1/example with the root token → {"key":"value"}; PUT {"key":"v2"} is saved in data/example.json; GET → v2 [HA-2] [HA-3]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const first = await get('/example', root)
    assert.equal(first.status, 200, JSON.stringify(first.body))
    assert.deepEqual(first.body, { key: 'value' })
    t.diagnostic(`GET /api/v1/example: ${first.ms} ms`)
    const written = await put('/example', { key: 'v2' }, root)
    assert.equal(written.status, 200, JSON.stringify(written.body))
    assert.deepEqual(written.body, { key: 'v2' })
    t.diagnostic(`PUT /api/v1/example: ${written.ms} ms`)
    // a managed bundle's data directory (docs/manager.md "Layout")
    const onDisk = JSON.parse(
      await readFile(join(gw.dataDir, 'bundle-data', 'example', 'example.json'), 'utf8'),
    ) as unknown
    assert.deepEqual(onDisk, { key: 'v2' })
    assert.deepEqual((await get('/example', root)).body, { key: 'v2' })
    // Authorization: Bearer works as well [HA-3]
    const bearer = await fetch(`${api}/example`, {
      headers: { authorization: `Bearer ${root}` },
      signal: AbortSignal.timeout(WAIT_MS),
    })
    assert.equal(bearer.status, 200)
    assert.deepEqual(await bearer.json(), { key: 'v2' })
  })

  test('no token → 401 GW_ERR_AUTH_REQUIRED with WWW-Authenticate: Bearer; a bad token → 401 GW_ERR_AUTH_INVALID [HA-4]', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const none = await get('/example')
    assertError(none, 401, 'GW_ERR_AUTH_REQUIRED')
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer\b/)
    const bad = await get('/example', 'not-a-token')
    assertError(bad, 401, 'GW_ERR_AUTH_INVALID', /malformed/)
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer\b/)
    const unknown = await get('/example', `bgt_${randomBytes(32).toString('base64url')}`)
    assertError(unknown, 401, 'GW_ERR_AUTH_INVALID', /unknown/)
  })

  test('a read token made by the CLI while the gateway runs: GET 200, PUT 403 GW_ERR_SCOPE; revoked by the CLI → 401 at once [HA-4] [HA-5] [HA-7]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const created = await gw.cli(['token', 'create', '--scope', 'read', '--description', 'x', '--json'])
    assert.equal(created.code, 0, created.stderr)
    const info = JSON.parse(created.stdout) as { id: string; scope: string; token: string }
    assert.equal(info.scope, 'read')
    assert.match(info.id, /^tk_[a-z2-7]{10}$/)
    const read = info.token
    const ok = await get('/example', read)
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    assert.deepEqual(ok.body, { key: 'v2' })
    assertError(await put('/example', { key: 'nope' }, read), 403, 'GW_ERR_SCOPE')
    assert.deepEqual((await get('/example', root)).body, { key: 'v2' }, 'the refused PUT changed nothing')

    const revoked = await gw.cli(['token', 'revoke', info.id])
    assert.equal(revoked.code, 0, revoked.stderr)
    assert.match(revoked.stdout, new RegExp(`Revoked token ${info.id}`))
    const t0 = Date.now()
    const refused = await get('/example', read)
    assertError(refused, 401, 'GW_ERR_AUTH_INVALID', /revoked/)
    t.diagnostic(`first request after "token revoke" exited: 401 in ${Date.now() - t0} ms`)
  })

  test('a token created with --expires 1s: 200, then after its expiry 401 GW_ERR_AUTH_INVALID "expired" [HA-4] [HA-7]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const created = await gw.cli([
      'token',
      'create',
      '--scope',
      'readwrite',
      '--description',
      'short-lived',
      '--expires',
      '1s',
      '--json',
    ])
    assert.equal(created.code, 0, created.stderr)
    const info = JSON.parse(created.stdout) as { token: string; createdAt: string; expiresAt: string }
    const expiresAt = Date.parse(info.expiresAt)
    assert.equal(expiresAt - Date.parse(info.createdAt), 1000)
    const sentAt = Date.now()
    const fresh = await get('/example', info.token)
    if (sentAt < expiresAt - 100) assert.equal(fresh.status, 200, JSON.stringify(fresh.body))
    else t.diagnostic(`the CLI took too long to check the 200 (${sentAt - expiresAt} ms after expiry)`)
    t.diagnostic(`first call ${expiresAt - sentAt} ms before the expiry: ${fresh.status}`)
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50))
    assertError(await get('/example', info.token), 401, 'GW_ERR_AUTH_INVALID', /expired/)
  })

  test('unknown resource → 404 GW_ERR_ROUTE_NOT_FOUND; malformed JSON → 400; body over 1 MiB → 413; text/plain → 415; PATCH → 405 [HA-12]', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    assertError(await get('/no-such-thing', root), 404, 'GW_ERR_ROUTE_NOT_FOUND', /\/no-such-thing/)
    assertError(
      await call(api, 'PUT', '/example', { token: root, body: '{"key": ' }),
      400,
      'GW_ERR_BAD_REQUEST',
      /JSON/,
    )
    const big = JSON.stringify({ key: 'x'.repeat(1_048_576) })
    assertError(
      await call(api, 'PUT', '/example', { token: root, body: big }),
      413,
      'GW_ERR_PAYLOAD_TOO_LARGE',
    )
    assertError(
      await call(api, 'PUT', '/example', { token: root, body: 'key=v3', type: 'text/plain' }),
      415,
      'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
    )
    assertError(
      await call(api, 'PATCH', '/example', { token: root, json: {} }),
      405,
      'GW_ERR_METHOD_NOT_ALLOWED',
    )
    assert.deepEqual((await get('/example', root)).body, { key: 'v2' }, 'nothing was written')
  })

  test('rejected requests never reach the bundle: the instrumented bundle counts only the accepted ones [HA-4] [HA-5] [HA-12]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const count = async () => {
      const a = await get('/counted/count', root)
      assert.equal(a.status, 200, JSON.stringify(a.body))
      return (a.body as { count: number }).count
    }
    // tokens made through the admin API this time [HA-9]
    const make = async (scope: string) => {
      const a = await call(api, 'POST', '/tokens', {
        token: root,
        json: { description: `count-${scope}`, scope },
      })
      assert.equal(a.status, 201, JSON.stringify(a.body))
      return a.body as { id: string; token: string }
    }
    const read = await make('read')
    const gone = await make('readwrite')
    const del = await call(api, 'DELETE', `/tokens/${gone.id}`, { token: root })
    assert.equal(del.status, 204)

    const before = await count()
    const rejected: Array<[string, Promise<Answer>, number, string]> = [
      ['no token', get('/counted'), 401, 'GW_ERR_AUTH_REQUIRED'],
      ['no token, PUT', put('/counted', { a: 1 }), 401, 'GW_ERR_AUTH_REQUIRED'],
      ['malformed token', get('/counted', 'bad'), 401, 'GW_ERR_AUTH_INVALID'],
      [
        'unknown token',
        put('/counted', {}, `bgt_${randomBytes(32).toString('base64url')}`),
        401,
        'GW_ERR_AUTH_INVALID',
      ],
      ['read token on PUT', put('/counted', { a: 1 }, read.token), 403, 'GW_ERR_SCOPE'],
      ['read token on DELETE', call(api, 'DELETE', '/counted', { token: read.token }), 403, 'GW_ERR_SCOPE'],
      ['revoked token', get('/counted', gone.token), 401, 'GW_ERR_AUTH_INVALID'],
      [
        'text/plain',
        call(api, 'PUT', '/counted', { token: root, body: 'a=1', type: 'text/plain' }),
        415,
        'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'over 1 MiB',
        call(api, 'PUT', '/counted', { token: root, body: JSON.stringify({ a: 'x'.repeat(1_048_576) }) }),
        413,
        'GW_ERR_PAYLOAD_TOO_LARGE',
      ],
      [
        'malformed JSON',
        call(api, 'PUT', '/counted', { token: root, body: '{"a":' }),
        400,
        'GW_ERR_BAD_REQUEST',
      ],
      ['PATCH', call(api, 'PATCH', '/counted', { token: root, json: {} }), 405, 'GW_ERR_METHOD_NOT_ALLOWED'],
    ]
    for (const [what, answer, status, code] of rejected) {
      const a = await answer
      assert.equal(a.status, status, `${what}: ${JSON.stringify(a.body)}`)
      assert.equal((a.body as { code?: string }).code, code, what)
    }
    assert.equal(await count(), before, 'no rejected request reached the bundle')

    const accepted = [
      await get('/counted', root),
      await put('/counted', { a: 1 }, root),
      await get('/counted', read.token),
    ]
    for (const a of accepted) assert.equal(a.status, 200, JSON.stringify(a.body))
    assert.deepEqual(accepted[1]?.body, { count: before + 2, method: 'put', data: { a: 1 } })
    assert.equal(await count(), before + accepted.length, 'every accepted request reached the bundle')
    t.diagnostic(
      `${rejected.length} rejected, ${accepted.length} accepted; the bundle counted ${accepted.length}`,
    )
  })

  test('a bundle that never answers: 504 GW_ERR_BUNDLE_TIMEOUT after its ttl (2 s), not before 1.5 s [WP-48]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const started = performance.now()
    const a = await get('/counted/hang', root)
    const ms = Math.round(performance.now() - started)
    t.diagnostic(`GET /api/v1/counted/hang (ttl 2 s) answered ${a.status} after ${ms} ms`)
    assertError(a, 504, 'GW_ERR_BUNDLE_TIMEOUT', /counting/)
    assert.ok(ms >= 1500, `answered after ${ms} ms, before the ttl`)
    assert.equal(counting.running(), true)
  })

  test('token rotate-root while the gateway runs: the old root token → 401, the new one from the file → 200 [HA-8]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const old = root
    const rotated = await gw.cli(['token', 'rotate-root'])
    assert.equal(rotated.code, 0, rotated.stderr)
    assert.ok(rotated.stdout.includes(gw.tokenFile), rotated.stdout)
    const fresh = (await readFile(gw.tokenFile, 'utf8')).trim()
    assert.notEqual(fresh, old)
    assert.equal(await fileMode(gw.tokenFile), '0600')
    const t0 = Date.now()
    assertError(await get('/example', old), 401, 'GW_ERR_AUTH_INVALID', /revoked/)
    t.diagnostic(`old root token refused ${Date.now() - t0} ms after rotate-root exited`)
    root = fresh
    const ok = await get('/example', fresh)
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    assert.deepEqual(ok.body, { key: 'v2' })
    const admin = await get('/tokens', fresh)
    assert.equal(admin.status, 200, 'the new root token is an admin token')
  })

  test('the example bundle killed with SIGKILL: GET answers 503 GW_ERR_BUNDLE_OFFLINE at once [WP-42]', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const pid = gw.examplePid
    assert.ok(alive(pid), `the example bundle (pid ${pid}) runs`)
    const killedAt = performance.now()
    process.kill(pid, 'SIGKILL')
    await until(() => !alive(pid), WAIT_MS, `pid ${pid} to die`)
    const a = await get('/example', root)
    const total = Math.round(performance.now() - killedAt)
    assertError(a, 503, 'GW_ERR_BUNDLE_OFFLINE', /example/)
    t.diagnostic(`SIGKILL to 503: ${total} ms (the GET itself: ${a.ms} ms)`)
    // the other bundle is unaffected
    assert.equal((await get('/counted/count', root)).status, 200)
  })

  test('SIGTERM after the example bundle died: the gateway still exits 0', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const started = performance.now()
    gw.proc.child.kill('SIGTERM')
    const exit = await within(gw.proc.exited, WAIT_MS, 'the gateway to exit after SIGTERM')
    t.diagnostic(`SIGTERM to exit (example already dead): ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(exit, { code: 0, signal: null }, gw.proc.output())
    assert.match(gw.proc.output(), /^stopping$/m)
  })
})

describe('stopping', () => {
  test('SIGTERM: the gateway exits 0 and its child example bundle is gone', {
    timeout: TEST_TIMEOUT_MS,
  }, async (t) => {
    const defer = lifo(t)
    const gw = await startGatewayProcess(defer)
    const token = (await readFile(gw.tokenFile, 'utf8')).trim()
    assert.equal((await call(`${gw.webUrl}/api/v1`, 'GET', '/example', { token })).status, 200)
    assert.ok(alive(gw.examplePid))
    const started = performance.now()
    gw.proc.child.kill('SIGTERM')
    const exit = await within(gw.proc.exited, WAIT_MS, 'the gateway to exit after SIGTERM')
    t.diagnostic(`SIGTERM to exit: ${Math.round(performance.now() - started)} ms`)
    assert.deepEqual(exit, { code: 0, signal: null }, gw.proc.output())
    await until(() => !alive(gw.examplePid), WAIT_MS, `the example bundle (pid ${gw.examplePid}) to be gone`)
    assert.match(gw.proc.output(), /^stopping$/m)
  })
})
