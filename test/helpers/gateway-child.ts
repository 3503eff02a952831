/**
 * `bundlegate start` as a real child process (from source, through tsx) on free loopback ports, for tests where a
 * crash must show as a dead process rather than as a killed test runner. The caller's `defer` stops it (SIGKILL).
 * @module
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { waitFor } from './gateway.ts'
import { freePort, REPO_ROOT } from './processes.ts'

/** A running gateway process. */
export interface GatewayProcess {
  child: ChildProcess
  httpUrl: string
  brokerUrl: string
  rootToken: string
  output(): string
  /** Fails the test when the gateway process has exited, with its output. */
  assertAlive(when: string): void
}

/** Starts `bundlegate start` with its data in `dataDir`, MQTT authentication on or off, and waits for "ready". */
export async function startGatewayProcess(
  dataDir: string,
  auth: boolean,
  defer: (fn: () => unknown) => void,
  /** A configuration file's content, passed with --config (e.g. a fuzzer's higher registration rate). */
  config?: Record<string, unknown>,
  /** More `bundlegate start` arguments (e.g. `--hub`). */
  extraArgs: string[] = [],
): Promise<GatewayProcess> {
  const [httpPort, brokerPort] = [await freePort(), await freePort()]
  const configArgs: string[] = []
  if (config) {
    const file = join(dataDir, 'test-config.json')
    await writeFile(file, JSON.stringify(config))
    configArgs.push('--config', file)
  }
  const env: NodeJS.ProcessEnv = { ...process.env, BUNDLEGATE_BROKER_AUTH: auth ? 'on' : 'off' }
  delete env.NODE_TEST_CONTEXT
  const child = spawn(
    process.execPath,
    [
      '--conditions=bundlegate-dev',
      '--import',
      import.meta.resolve('tsx'),
      join(REPO_ROOT, 'src/cli/bin.ts'),
      'start',
      ...['--http-host', '127.0.0.1', '--http-port', String(httpPort)],
      ...['--broker-host', '127.0.0.1', '--broker-port', String(brokerPort)],
      ...['--data-dir', dataDir, '--token-file', join(dataDir, 'mx-api-token'), '--log-level', 'warn'],
      ...configArgs,
      ...extraArgs,
    ],
    { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  await waitFor(
    () => out.includes('Bundlegate ready') || child.exitCode !== null,
    30_000,
    'the gateway to start',
  )
  assert.ok(out.includes('Bundlegate ready'), `the gateway did not start:\n${out}`)
  return {
    child,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    brokerUrl: `mqtt://127.0.0.1:${brokerPort}`,
    rootToken: (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim(),
    output: () => out,
    assertAlive(when) {
      assert.equal(
        child.exitCode ?? child.signalCode,
        null,
        `the gateway process died ${when}; its output:\n${out.slice(-4000)}`,
      )
    },
  }
}
