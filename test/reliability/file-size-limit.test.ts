/**
 * A storage fault that needs no mount: the gateway as its own process under a file-size limit (RLIMIT_FSIZE, set by
 * util-linux `prlimit`). Once the token database's write-ahead log reaches the limit, every write fails with EFBIG
 * (Node ignores SIGXFSZ), which SQLite reports as SQLITE_IOERR_WRITE: the path of GW_ERR_TOKEN_STORE_WRITE (503),
 * where disk-full.test.ts covers SQLITE_FULL (507) on a tmpfs. Lifting the limit of the running process
 * (`prlimit --pid`) plays "space is back". Skipped where prlimit is missing or may not change limits.
 */
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import { lifo, waitFor } from '../helpers/gateway.ts'
import { freePort, REPO_ROOT } from '../helpers/processes.ts'

const run = promisify(execFile)
/** Big enough for start-up (and tsx's cache files), small enough to be reached by ~100 token creations. */
const LIMIT_BYTES = 1024 * 1024

/** Our environment without the test runner's marker, which must not leak into the gateway process. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_TEST_CONTEXT
  return env
}

async function prlimitWorks(): Promise<string | undefined> {
  try {
    await run('prlimit', ['--fsize=1048576:unlimited', '--', process.execPath, '-e', ''])
    return undefined
  } catch (err) {
    return `prlimit is not usable here: ${(err as Error).message.split('\n')[0]}`
  }
}

test("token store under a file-size limit: 503 GW_ERR_TOKEN_STORE_WRITE naming SQLite's error, existing tokens keep working, writes resume once the limit is lifted, integrity_check ok", {
  timeout: 90_000,
}, async (t) => {
  const unusable = await prlimitWorks()
  if (unusable) {
    t.skip(unusable)
    return
  }
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-fsize-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  const [httpPort, brokerPort] = [await freePort(), await freePort()]
  const child = spawn(
    'prlimit',
    [
      `--fsize=${LIMIT_BYTES}:unlimited`, // soft limit only: lifting it later needs no privilege
      '--',
      process.execPath,
      '--conditions=bundlegate-dev',
      '--import',
      import.meta.resolve('tsx'),
      join(REPO_ROOT, 'src/cli/bin.ts'),
      'start',
      '--http-host',
      '127.0.0.1',
      '--http-port',
      String(httpPort),
      '--broker-host',
      '127.0.0.1',
      '--broker-port',
      String(brokerPort),
      '--data-dir',
      dataDir,
      '--token-file',
      join(dataDir, 'mx-api-token'),
      '--log-level',
      'warn',
    ],
    { cwd: REPO_ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  await waitFor(() => output.includes('Bundlegate ready'), 30_000, `the gateway to start; output: ${output}`)
  const base = `http://127.0.0.1:${httpPort}/api/v1`
  const root = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()
  const call = async (token: string, method: string, path: string, data?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        'mx-api-token': token,
        ...(data === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(data === undefined ? {} : { body: JSON.stringify(data) }),
      signal: AbortSignal.timeout(10_000),
    })
    const text = await res.text()
    return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> }
  }

  const issued: string[] = []
  let refused: { status: number; body: Record<string, unknown> } | undefined
  for (let i = 0; i < 2000 && refused === undefined; i++) {
    const r = await call(root, 'POST', '/tokens', { description: `filling the log ${i}`, scope: 'read' })
    if (r.status === 201) issued.push(String(r.body.token))
    else refused = r
  }
  t.diagnostic(
    `tokens created before the ${LIMIT_BYTES / 1024} KiB file-size limit was reached: ${issued.length}`,
  )
  assert.ok(refused, 'the limit was never reached')
  t.diagnostic(`refused: ${refused.status} ${JSON.stringify(refused.body)}`)
  assert.equal(refused.status, 503)
  assert.equal(refused.body.code, 'GW_ERR_TOKEN_STORE_WRITE')
  assert.match(String(refused.body.message), /tokens\.db cannot be written: .*\(SQLITE_IOERR/)
  assert.equal(refused.body.stack, undefined)
  assert.equal(
    (await call(issued[0]!, 'GET', '/tokens')).status,
    403,
    'an existing read token still verifies',
  )
  assert.equal((await call(root, 'GET', '/tokens')).status, 200)
  assert.equal(child.exitCode, null, 'the gateway keeps running')

  await run('prlimit', ['--pid', String(child.pid), '--fsize=unlimited:unlimited'])
  const liftedAt = performance.now()
  const after = await call(root, 'POST', '/tokens', {
    description: 'after the limit is lifted',
    scope: 'read',
  })
  t.diagnostic(`limit lifted → first 201: ${(performance.now() - liftedAt).toFixed(1)} ms`)
  assert.equal(after.status, 201)
  assert.equal((await call(String(after.body.token), 'GET', '/tokens')).status, 403)

  child.kill('SIGTERM')
  await exited
  const db = new Database(join(dataDir, 'tokens.db'), { readonly: true })
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok')
    const rows = db.prepare('SELECT COUNT(*) FROM tokens WHERE root = 0').pluck().get() as number
    assert.equal(rows, issued.length + 1, 'exactly the tokens the API reported as created')
  } finally {
    db.close()
  }
})
