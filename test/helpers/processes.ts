/**
 * Real processes for the end-to-end tests: the example bundle as its own Node process, a raw mqtt.js caller, and a
 * throw-away mosquitto broker. Everything listens on 127.0.0.1 and free ports only.
 *
 * Every child started here is also killed (SIGKILL) when the test process exits, as a last resort: tests still stop
 * what they start themselves (t.after / lifo), this only keeps a crashed test run from leaving orphans behind.
 * @module
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { accessSync, constants } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Envelope, Json } from '../../src/protocol/index.ts'

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))
/** The example bundle's source directory (never written to by these helpers). */
export const EXAMPLE_SOURCE_DIR = join(REPO_ROOT, 'examples', 'example')

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
}

/** How a child process ended. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode })
      return
    }
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

/** Waits for `p` at most `ms`, then rejects with `what` in the message. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** A free TCP port on 127.0.0.1 (bound on port 0, read, closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))))
    })
  })
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => {
      socket.destroy()
      resolve(false)
    })
  })
}

// ------------------------------------------------------------------------------------------ example bundle

/**
 * A temp directory holding a copy of the example's `bundle.json` and `data/example.json.factory` (and nothing
 * else: the repository's own `data/example.json` is never read or written). The caller removes it.
 */
export async function copyExampleDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-e2e-example-'))
  await mkdir(join(dir, 'data'))
  await copyFile(join(EXAMPLE_SOURCE_DIR, 'bundle.json'), join(dir, 'bundle.json'))
  await copyFile(
    join(EXAMPLE_SOURCE_DIR, 'data', 'example.json.factory'),
    join(dir, 'data', 'example.json.factory'),
  )
  return dir
}

/** A running example bundle process. */
export interface ExampleProcess {
  readonly child: ChildProcess
  /** `Date.now()` when the process was spawned. */
  readonly spawnedAt: number
  /** Resolves when the log shows "Register successfully"; rejects when the process exits first or after `readyTimeoutMs`. */
  readonly ready: Promise<void>
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string
  kill(signal?: NodeJS.Signals): void
  readonly exited: Promise<Exit>
  /** SIGKILLs the process unless it has exited already, and waits for its exit. Idempotent. */
  stop(): Promise<Exit>
}

/** Options of {@link spawnExample}. */
export interface SpawnExampleOptions {
  brokerUrl: string
  /** The bundle directory (BUNDLE_DIR), normally from {@link copyExampleDir}. */
  dir: string
  env?: Record<string, string>
  /** @default 20_000 */
  readyTimeoutMs?: number
  /** The bundle's entry file. @default examples/example/index.ts */
  entry?: string
}

/**
 * Runs examples/example/index.ts as its own process, as `bundlegate start --example` does in development:
 * `node --conditions=bundlegate-dev --import tsx examples/example/index.ts`, with BROKER_URL, BUNDLE_DIR and
 * LOG_LEVEL=debug.
 */
export function spawnExample(options: SpawnExampleOptions): ExampleProcess {
  const args = [
    '--conditions=bundlegate-dev',
    '--import',
    import.meta.resolve('tsx'),
    options.entry ?? join(EXAMPLE_SOURCE_DIR, 'index.ts'),
  ]
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_TEST_CONTEXT // the test runner's own marker must not leak into the bundle
  Object.assign(env, {
    BROKER_URL: options.brokerUrl,
    BUNDLE_DIR: options.dir,
    LOG_LEVEL: 'debug',
    ...options.env,
  })
  const spawnedAt = Date.now()
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let out = ''
  let registered = false
  let onRegistered: (() => void) | undefined
  const collect = (chunk: Buffer) => {
    const from = Math.max(0, out.length - 32)
    out += chunk.toString()
    if (!registered && out.indexOf('Register successfully', from) !== -1) {
      registered = true
      onRegistered?.()
    }
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  const exited = exitOf(child)
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`example bundle not registered within ${readyTimeoutMs} ms; output:\n${out}`))
    }, readyTimeoutMs)
    onRegistered = () => {
      clearTimeout(timer)
      resolve()
    }
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      if (!registered)
        reject(
          new Error(`example bundle exited (code ${code}, signal ${signal}) before registering:\n${out}`),
        )
    })
  })
  ready.catch(() => {}) // a test that never awaits `ready` must not see an unhandled rejection
  return {
    child,
    spawnedAt,
    ready,
    output: () => out,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      return exited
    },
  }
}

// ------------------------------------------------------------------------------------------ raw MQTT caller

let nextId = 1_048_576 + Math.floor(Math.random() * 1_000_000_000)

/** A fresh request id in [1048576, 2147483647] [WP-58]. */
export function requestId(): number {
  nextId = nextId >= 2_147_483_000 ? 1_048_576 : nextId + 1
  return nextId
}

/**
 * Sends a direct request as any peer would: a raw mqtt.js client subscribes a random reply tunnel, publishes
 * `{id, method, resource, data, tunnel}` on `/controller`, keeps its connection open until the answer for that id
 * arrives on the tunnel, and closes. Rejects when there is no answer within `timeoutMs` (default 5000).
 */
export async function mqttCall(
  url: string,
  method: string,
  resource: string,
  data?: Json,
  options: { timeoutMs?: number } = {},
): Promise<Envelope> {
  const timeoutMs = options.timeoutMs ?? 5000
  const deadline = Date.now() + timeoutMs
  const tunnel = randomBytes(16).toString('hex')
  const id = requestId()
  const client = mqtt.connect(url, {
    clientId: `e2e-call-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    protocolVersion: 4,
  })
  client.on('error', () => {}) // reported through the timeout or the connect failure below
  try {
    const answer = new Promise<Envelope>((resolve) => {
      client.on('message', (topic, payload) => {
        if (topic !== tunnel) return
        try {
          const msg = JSON.parse(payload.toString()) as Envelope
          if (msg.id === id) resolve(msg)
        } catch {
          // not JSON: not our answer
        }
      })
    })
    const connected = new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('close', () => reject(new Error(`connection to ${url} closed`)))
    })
    await within(connected, timeoutMs, `a connection to ${url}`)
    await within(client.subscribeAsync(tunnel, { qos: 1 }), Math.max(1, deadline - Date.now()), 'SUBACK')
    const request: Envelope = { id, method, resource, tunnel }
    if (data !== undefined) request.data = data
    await client.publishAsync('/controller', JSON.stringify(request), { qos: 1 })
    return await within(
      answer,
      Math.max(1, deadline - Date.now()),
      `the answer to ${method.toUpperCase()} ${resource} (id ${id})`,
    )
  } finally {
    await within(client.endAsync(), 1000, 'the caller to disconnect').catch(() => client.end(true))
  }
}

// ------------------------------------------------------------------------------------------ mosquitto

/** The mosquitto binary, or undefined when it is not installed. */
export function findMosquitto(): string | undefined {
  const dirs = ['/usr/sbin', '/usr/local/sbin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]
  for (const dir of dirs) {
    const file = join(dir, 'mosquitto')
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // next
    }
  }
  return undefined
}

/** What a test's mosquitto requires of its clients. */
export interface MosquittoOptions {
  /** Only these users may connect (a mosquitto password file); anonymous clients are refused. */
  users?: Record<string, string>
  /** TLS on the listener with this server certificate (PEM files); the URL becomes `mqtts://`. */
  tls?: { caFile: string; certFile: string; keyFile: string }
  /** The content of a mosquitto ACL file (`acl_file`), e.g. the fleet's `pattern` lines (docs/fleet.md). */
  acl?: string
  /** More lines for mosquitto.conf (e.g. `set_tcp_nodelay true`). */
  conf?: string[]
}

/** A mosquitto broker of one test. */
export interface Mosquitto {
  readonly url: string
  readonly port: number
  /** The temp directory with mosquitto.conf and mosquitto.log. */
  readonly dir: string
  /** SIGTERM, then SIGKILL after 5 s; waits for the exit. */
  stop(): Promise<void>
  /** SIGKILL; waits for the exit. */
  kill9(): Promise<void>
  /** Stops (when running) and starts again on the same port; resolves once the port accepts connections. */
  restart(): Promise<void>
  /** The broker's log file so far. */
  log(): Promise<string>
  /** Stops the broker and removes its temp directory. */
  close(): Promise<void>
}

/**
 * Starts `mosquitto -c <temp conf>` on a free loopback port (anonymous, no persistence, logging to a file in its
 * temp directory) and resolves once the port accepts TCP connections. Undefined when mosquitto is not installed.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<Mosquitto | undefined> {
  const bin = findMosquitto()
  if (bin === undefined) return undefined
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-e2e-mosquitto-'))
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const logFile = join(dir, 'mosquitto.log')
  // as root, mosquitto drops privileges to the 'mosquitto' user, which cannot read files in our 0700 temp dir
  const security: string[] =
    process.getuid?.() === 0 ? ['user root', 'allow_anonymous true'] : ['allow_anonymous true']
  if (options.users) {
    const file = join(dir, 'passwords')
    await writeFile(file, '')
    for (const [user, password] of Object.entries(options.users))
      execFileSync('mosquitto_passwd', ['-b', file, user, password])
    security.splice(
      security.indexOf('allow_anonymous true'),
      1,
      'allow_anonymous false',
      `password_file ${file}`,
    )
  }
  if (options.acl !== undefined) {
    const file = join(dir, 'acl')
    await writeFile(file, options.acl)
    security.push(`acl_file ${file}`)
  }
  if (options.tls)
    security.push(
      `cafile ${options.tls.caFile}`,
      `certfile ${options.tls.certFile}`,
      `keyfile ${options.tls.keyFile}`,
    )
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...security,
      'persistence false',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      'log_timestamp true',
      ...(options.conf ?? []),
      '',
    ].join('\n'),
  )
  let child: ChildProcess | undefined

  const log = () => readFile(logFile, 'utf8').catch(() => '')

  async function start(): Promise<void> {
    const c = spawn(bin as string, ['-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    track(c)
    child = c
    let out = ''
    c.stdout?.on('data', (b: Buffer) => (out += b.toString()))
    c.stderr?.on('data', (b: Buffer) => (out += b.toString()))
    const end = Date.now() + 10_000
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`mosquitto exited (code ${c.exitCode}) on port ${port}:\n${out}\n${await log()}`)
      }
      if (await accepts(port)) return
      if (Date.now() > end) {
        c.kill('SIGKILL')
        throw new Error(`mosquitto does not accept connections on port ${port}:\n${out}\n${await log()}`)
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    const exited = exitOf(c)
    c.kill(signal)
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  try {
    await start()
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  let closed: Promise<void> | undefined
  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    dir,
    stop: () => halt('SIGTERM'),
    kill9: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM')
      await start()
    },
    log,
    close() {
      closed ??= (async () => {
        await halt('SIGTERM')
        await rm(dir, { recursive: true, force: true })
      })()
      return closed
    },
  }
}

/**
 * Connects an MQTT client (3.1.1, clean session, no reconnect) and resolves with it, or with the CONNACK return code
 * that refused it (-1 when no code came): for tests of broker authentication.
 */
export function mqttConnect(
  url: string,
  options: IClientOptions = {},
): Promise<{ client: MqttClient } | { refused: number }> {
  const client = mqtt.connect(url, {
    clientId: `test-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    protocolVersion: 4,
    ...options,
  })
  return within(
    new Promise((resolve) => {
      client.once('connect', () => resolve({ client }))
      client.once('error', (err: Error & { code?: number }) => {
        client.end(true)
        resolve({ refused: err.code ?? -1 })
      })
    }),
    5000,
    'CONNACK',
  )
}

/** The SUBACK return code of one subscription (mqtt.js rejects a 0x80 with the SUBACK packet attached). */
export async function subscribeCode(client: MqttClient, topic: string): Promise<number | undefined> {
  try {
    return (await client.subscribeAsync(topic, { qos: 1 }))[0]?.qos
  } catch (err) {
    const granted = (err as { packet?: { granted?: Array<number | { qos: number }> } }).packet?.granted
    const code = granted?.[0]
    if (code === undefined) throw err
    return typeof code === 'number' ? code : code.qos
  }
}
