/**
 * Issue 12, part 6: traps a newcomer falls into at the first start.
 * - A start that fails (busy port, …) says so in one line with a code, no stack, and consumes nothing one-time:
 *   no admin user, no root token file; the retry after the fix shows the initial password.
 * - A root token file left by another install is neither adopted silently nor overwritten.
 * - A 401 from the CLI says which token file (or variable) it read and how to fix it.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { TokenStore } from '../../src/tokens/index.ts'
import { UserStore } from '../../src/users/index.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { spawnCli } from '../helpers/gateway-process.ts'

const STACK_LINE = /\n\s+at /

/** A TCP port kept busy by another program for the test. */
async function busyPort(t: TestContext): Promise<number> {
  const server: Server = createServer()
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  )
  return (server.address() as { port: number }).port
}

async function stateDir(t: TestContext): Promise<{ dataDir: string; tokenFile: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-newcomer-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return { dir, dataDir: join(dir, 'data'), tokenFile: join(dir, 'mx-api-token') }
}

function usersIn(dataDir: string): string[] {
  const users = UserStore.open(dataDir)
  try {
    return users.list().map((u) => u.username)
  } finally {
    users.close()
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

/** stderr is exactly one line `bundlegate: … (<code>)`, with no stack trace anywhere in the output. */
function assertOneLine(r: { code: number; stdout: string; stderr: string }, code: string): void {
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, new RegExp(`^bundlegate: [^\\n]+ \\(${code}\\)\\n$`), r.stderr)
  assert.doesNotMatch(r.stderr + r.stdout, STACK_LINE)
}

test('a busy HTTP port: one line with GW_ERR_HTTP_LISTEN and no stack; no admin user, no token file; the retry shows the initial password', async (t) => {
  const port = await busyPort(t)
  const { dataDir, tokenFile } = await stateDir(t)
  const args = [
    '--broker-port',
    '0',
    '--data-dir',
    dataDir,
    '--token-file',
    tokenFile,
    '--log-level',
    'silent',
  ]
  const failed = await runCli(['start', '--http-port', String(port), ...args])
  assertOneLine(failed, 'GW_ERR_HTTP_LISTEN')
  assert.match(failed.stderr, new RegExp(`127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`))
  assert.deepEqual(usersIn(dataDir), [], 'no console user was created by the failed start')
  assert.equal(await exists(tokenFile), false, 'no root token file was written by the failed start')

  const retry = spawnCli(['start', '--http-port', '0', ...args])
  t.after(() => retry.kill9())
  await retry.waitFor(/controller {2}default mode/)
  assert.match(
    retry.output(),
    /console {5}http:\/\/\S+\/ \(log in as admin, initial password \S{10,}: shown this once\)/,
    'the retry shows the initial password',
  )
  assert.deepEqual(usersIn(dataDir), ['admin'])
  retry.child.kill('SIGTERM')
  assert.equal((await retry.exited).code, 0)
})

test('other start-up errors are one line with a code too, and leave no admin user: busy broker port, data directory, bad config, unreachable broker', async (t) => {
  const port = await busyPort(t)
  const { dir, dataDir, tokenFile } = await stateDir(t)
  const common = ['--http-port', '0', '--token-file', tokenFile, '--log-level', 'silent']

  const broker = await runCli(['start', ...common, '--broker-port', String(port), '--data-dir', dataDir])
  assertOneLine(broker, 'GW_ERR_BROKER_LISTEN')
  assert.deepEqual(usersIn(dataDir), [], 'no console user after a busy broker port')
  assert.equal(await exists(tokenFile), false)

  const notADir = join(dir, 'a-file')
  await writeFile(notADir, '')
  const data = await runCli(['start', ...common, '--broker-port', '0', '--data-dir', join(notADir, 'data')])
  assertOneLine(data, 'GW_ERR_DATA_DIR_UNWRITABLE')

  assertOneLine(await runCli(['start', ...common, '--mode', 'chaos']), 'GW_ERR_CONFIG_INVALID')
  const badJson = join(dir, 'bad.json')
  await writeFile(badJson, '{"http": ')
  assertOneLine(await runCli(['start', '--config', badJson]), 'GW_ERR_CONFIG_INVALID')

  const config = join(dir, 'unreachable.json')
  await writeFile(config, JSON.stringify({ broker: { connectTimeoutMs: 300 } }))
  const unreachable = await runCli([
    'start',
    ...common,
    '--config',
    config,
    '--broker-url',
    `mqtt://127.0.0.1:${port}`,
    '--data-dir',
    dataDir,
  ])
  assertOneLine(unreachable, 'GW_ERR_BROKER_CONNECT')
  assert.deepEqual(usersIn(dataDir), [], 'no console user after an unreachable broker')
})

test('a root token file from another install is neither adopted nor overwritten: the start fails in one line naming the file and the fix', async (t) => {
  const { dataDir, tokenFile } = await stateDir(t)
  const args = [
    'start',
    '--http-port',
    '0',
    '--broker-port',
    '0',
    '--data-dir',
    dataDir,
    '--token-file',
    tokenFile,
  ]
  for (const foreign of [`${TokenStore.generateSecret()}\n`, 'a3f9c2d1e4b5a6978877665544332211\n']) {
    await writeFile(tokenFile, foreign, { mode: 0o600 })
    // a real process: where the file is adopted, the gateway starts and runs until it is killed
    const gw = spawnCli([...args, '--log-level', 'silent'])
    t.after(() => gw.kill9())
    const ended = await Promise.race([
      gw.exited,
      gw.waitFor(/Bundlegate ready/).then(
        () => undefined,
        () => undefined,
      ),
    ])
    assert.ok(ended, `the gateway started with another install's token file:\n${gw.output()}`)
    assert.equal(ended.code, 1, gw.output())
    const out = gw.output()
    assert.match(out, /^bundlegate: Root token file \S+ holds a token this gateway did not issue/)
    assert.ok(out.includes(tokenFile), 'the message names the file')
    assert.match(
      out,
      /--token-file.*data\.tokenFile.*bundlegate token adopt-root.*\(GW_ERR_TOKEN_FILE_FOREIGN\)\n$/,
    )
    assert.doesNotMatch(out, STACK_LINE)
    assert.equal(await readFile(tokenFile, 'utf8'), foreign, 'the other install keeps its secret')
    assert.deepEqual(usersIn(dataDir), [], 'and the failed start created no console user')
  }
  // the fix the message names: the Bundlegate secret is taken over explicitly; ThingsPro's hex cannot be
  const hex = await runCli(['token', 'adopt-root', '--data-dir', dataDir, '--token-file', tokenFile])
  assert.equal(hex.code, 1)
  assert.match(hex.stderr, /holds no Bundlegate root secret/)
  const secret = TokenStore.generateSecret()
  await writeFile(tokenFile, `${secret}\n`, { mode: 0o600 })
  const adopt = await runCli(['token', 'adopt-root', '--data-dir', dataDir, '--token-file', tokenFile])
  assert.equal(adopt.code, 0, adopt.stderr)
  const store = TokenStore.open(dataDir)
  try {
    const verified = store.verify(secret)
    assert.ok(verified.ok && verified.token.root, 'the adopted secret is the root token now')
  } finally {
    store.close()
  }
})

test('a 401 from `bundlegate bundles` and `call` names the token file it read (or the variable) and the fix', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const { tokenFile } = await stateDir(t)
  await writeFile(tokenFile, `${TokenStore.generateSecret()}\n`) // another gateway's token

  for (const argv of [
    ['bundles', '--url', gw.httpUrl, '--token-file', tokenFile],
    ['call', 'GET', '/bundles', '--url', gw.httpUrl, '--token-file', tokenFile],
  ]) {
    const r = await runCli(argv)
    assert.equal(r.code, 1)
    assert.match(r.stdout, /401/)
    assert.ok(r.stderr.includes(`the file ${tokenFile} (--token-file)`), r.stderr)
    assert.match(r.stderr, /Fix: --token-file .*"root token".*--token.*BUNDLEGATE_TOKEN/)
  }

  const saved = process.env.BUNDLEGATE_TOKEN
  process.env.BUNDLEGATE_TOKEN = TokenStore.generateSecret()
  defer(() => {
    if (saved === undefined) delete process.env.BUNDLEGATE_TOKEN
    else process.env.BUNDLEGATE_TOKEN = saved
  })
  const env = await runCli(['bundles', '--url', gw.httpUrl])
  assert.equal(env.code, 1)
  assert.match(env.stderr, /came from the environment variable BUNDLEGATE_TOKEN/)

  const ok = await runCli(['bundles', '--url', gw.httpUrl, '--token', gw.rootToken])
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stderr, '', 'no hint when the token is accepted')
})
