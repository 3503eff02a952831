import type { ChildProcess } from 'node:child_process'
import { type Dirent, existsSync, type FSWatcher, watch } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { constants } from 'node:os'
import { extname, join, relative, resolve, sep } from 'node:path'
import { loadConfig } from '../../config/index.ts'
import { createError, GatewayError } from '../../errors.ts'
import { silentLogger } from '../../logger.ts'
import { bundlegateResolveArgs, isRunning, spawnChild, stopChild } from '../../process/index.ts'
import { brokerUrlFromEnv } from '../../sdk/env.ts'
import { loadManifest, type Manifest, type ManifestProblem } from '../../sdk/manifest.ts'
import { BrokerCredentialStore } from '../../tokens/index.ts'
import { parse } from '../args.ts'
import { CONFIG_OPTIONS, dataFlags } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'

const HELP = `Usage: bundlegate run [dir] [options]

Checks <dir>/bundle.json (default dir: .), then runs the bundle's \`main\` from <dir>: TypeScript (.ts, .mts) with
Node and tsx, JavaScript (.js, .mjs, .cjs) with Node, Python (.py) with python3 (original Sanji bundles). Without
\`main\`, the first of index.ts, index.js, index.mjs, index.py that exists. The bundle's output is streamed through;
the command exits with the bundle's exit code (128 + n when a signal ended it). SIGINT and SIGTERM are passed on.

Options:
  --broker <url>      broker URL (default BROKER_URL, else BROKER_PORT_1883_TCP_ADDR/PORT, else mqtt://127.0.0.1:1883)
  --watch             restart the bundle when a file in <dir> changes (not node_modules, data/, dotfiles)
  --config <file>     the gateway's configuration file (for data.dir)
  --data-dir <dir>    the gateway's data directory (default: data)

The bundle gets BROKER_URL, BROKER_PORT_1883_TCP_ADDR, BROKER_PORT_1883_TCP_PORT and BUNDLE_DIR=<dir>, and runs
in <dir>. BUNDLEGATE_PYTHON names another Python interpreter than python3.

When the gateway's data directory holds broker-credentials.db (its broker requires MQTT authentication) and
neither BROKER_USERNAME nor a user in the broker URL is set, the bundle also gets BROKER_USERNAME=<name> and a
fresh BROKER_PASSWORD, issued for this run and revoked when it ends (docs/security.md).`

/** File names tried, in order, when bundle.json has no `main`. */
const DEFAULT_MAINS = ['index.ts', 'index.js', 'index.mjs', 'index.py']
/** How long a stopping bundle gets before SIGKILL. */
const KILL_AFTER_MS = 5000
/** Changes closer together than this restart the bundle once. */
const DEBOUNCE_MS = 200

/** Test hooks: `signal` stops the command as SIGTERM would. */
export interface RunOptions {
  signal?: AbortSignal
}

/** A resolved way to start the bundle. */
interface Launch {
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
  cwd: string
  /** e.g. "node --import tsx index.ts". */
  label: string
  python: boolean
}

/** `bundlegate run [dir]`. */
export async function runCommand(argv: string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONFIG_OPTIONS,
    broker: { type: 'string' },
    watch: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length > 1)
    throw createError('GW_ERR_CLI_USAGE', [`unexpected argument "${positionals[1]}"\n\n${HELP}`])
  const dir = resolve(positionals[0] ?? '.')
  const brokerUrl = values.broker ?? brokerUrlFromEnv()

  let manifest: Manifest
  try {
    manifest = await loadManifest(dir)
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'GW_ERR_MANIFEST_INVALID') {
      printInvalid(io, dir, err)
      return 1
    }
    throw err
  }
  const launch = launchOf(dir, manifest, brokerUrl)
  if (typeof launch === 'string') {
    line(io.err, `bundlegate: ${launch}`)
    return 1
  }
  let issued: Awaited<ReturnType<typeof issueCredential>>
  try {
    issued = await issueCredential(manifest.name, brokerUrl, values)
  } catch (err) {
    // the bundle may still run (a broker without authentication); say why it has no credential
    line(io.err, `bundlegate: no broker credential issued: ${(err as Error).message}`)
  }
  if (issued) {
    Object.assign(launch.env, issued.env)
    line(
      io.err,
      `bundlegate: issued broker credential ${issued.id} for ${manifest.name} (revoked when this run ends)`,
    )
  }
  line(
    io.err,
    `bundlegate: running ${manifest.name} ${manifest.version}: ${launch.label} (broker ${brokerUrl})`,
  )
  try {
    return await (values.watch ? watchLoop(launch, dir, io, options) : runOnce(launch, io, options))
  } finally {
    try {
      issued?.revoke()
    } catch (err) {
      line(io.err, `bundlegate: cannot revoke broker credential ${issued?.id}: ${(err as Error).message}`)
    }
  }
}

/**
 * A broker credential for this run, when the gateway's data directory has a broker credential store and the
 * bundle has no credentials of its own (BROKER_USERNAME, or a user in the broker URL).
 */
export async function issueCredential(
  bundle: string,
  brokerUrl: string,
  values: { config?: string | undefined; 'data-dir'?: string | undefined; 'token-file'?: string | undefined },
): Promise<{ id: string; env: Record<string, string>; revoke(): void } | undefined> {
  if (process.env.BROKER_USERNAME) return undefined
  try {
    if (new URL(brokerUrl).username !== '') return undefined
  } catch {
    return undefined // launchOf has reported it
  }
  const config = await loadConfig({ file: values.config, flags: dataFlags(values) })
  const dataDir = resolve(config.data.dir)
  if (!BrokerCredentialStore.exists(dataDir)) return undefined
  const open = () => BrokerCredentialStore.open(dataDir, { logger: silentLogger() })
  const store = open()
  let created: ReturnType<BrokerCredentialStore['create']>
  try {
    created = store.create(bundle, { description: `bundlegate run (pid ${process.pid})` })
  } finally {
    store.close()
  }
  const id = created.credential.id
  return {
    id,
    env: { BROKER_USERNAME: created.username, BROKER_PASSWORD: created.password },
    revoke() {
      const s = open()
      try {
        s.revoke(id)
      } finally {
        s.close()
      }
    },
  }
}

/** Every problem on its own line: "  Expected `ttl` to be a positive integer (seconds), got `-1` (number)". */
function printInvalid(io: CliIo, dir: string, err: GatewayError): void {
  const problems = (err.data as { problems?: ManifestProblem[] } | undefined)?.problems
  if (!problems) {
    // not JSON: the message says where
    line(io.err, `bundlegate: ${err.message} (${err.code})`)
    return
  }
  const n = problems.length
  line(
    io.err,
    `bundlegate: invalid bundle.json (${join(dir, 'bundle.json')}): ${n} problem${n === 1 ? '' : 's'} (${err.code})`,
  )
  for (const p of problems)
    line(
      io.err,
      `  Expected ${p.field === '' ? 'the manifest' : `\`${p.field}\``} to be ${p.expected}, got ${p.found}`,
    )
}

/** How to start `main`, or why it cannot be started. */
function launchOf(dir: string, manifest: Manifest, brokerUrl: string): Launch | string {
  let main = manifest.main
  if (main === undefined || main === '') {
    main = DEFAULT_MAINS.find((m) => existsSync(join(dir, m)))
    if (main === undefined)
      return `bundle.json has no "main" and ${dir} has none of ${DEFAULT_MAINS.join(', ')}`
  }
  const file = resolve(dir, main)
  if (!existsSync(file)) return `main file ${file} (from bundle.json) does not exist`
  const broker = brokerEnv(brokerUrl)
  if (typeof broker === 'string') return broker
  const env: NodeJS.ProcessEnv = { ...process.env, ...broker, BUNDLE_DIR: dir }
  // The bundle's `argument` (original manifests: "" or extra command-line words) goes after the file.
  const extra = (manifest.argument ?? '').split(/\s+/).filter((a) => a !== '')
  const ext = extname(file).toLowerCase()
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    const args = [
      '--import',
      import.meta.resolve('tsx'),
      ...bundlegateResolveArgs({ tsxLoaded: true }),
      file,
      ...extra,
    ]
    if (devCondition()) args.unshift('--conditions=bundlegate-dev')
    return {
      command: process.execPath,
      args,
      env,
      cwd: dir,
      label: `node --import tsx ${main}`,
      python: false,
    }
  }
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs')
    return {
      command: process.execPath,
      args: [...bundlegateResolveArgs(), file, ...extra],
      env,
      cwd: dir,
      label: `node ${main}`,
      python: false,
    }
  if (ext === '.py') {
    const python = process.env.BUNDLEGATE_PYTHON || 'python3'
    return {
      command: python,
      args: [file, ...extra],
      env: { PYTHONUNBUFFERED: '1', ...env },
      cwd: dir,
      label: `${python} ${main}`,
      python: true,
    }
  }
  return `cannot run ${main}: main must be .ts, .mts, .js, .mjs or .py`
}

/**
 * Whether this CLI itself runs from the TypeScript sources (`--conditions=bundlegate-dev`): then the bundle gets
 * the condition too, so its `import 'bundlegate'` loads the same sources rather than a possibly stale `dist/`.
 */
function devCondition(): boolean {
  return process.execArgv.some((a) => a.includes('bundlegate-dev'))
}

/** BROKER_URL and the original stack's BROKER_PORT_1883_TCP_ADDR / _PORT derived from it. */
function brokerEnv(brokerUrl: string): Record<string, string> | string {
  let url: URL
  try {
    url = new URL(brokerUrl)
  } catch {
    return `the broker URL "${brokerUrl}" is not a URL (like mqtt://127.0.0.1:1883)`
  }
  const port = url.port || (url.protocol === 'mqtts:' ? '8883' : '1883')
  return {
    BROKER_URL: brokerUrl,
    BROKER_PORT_1883_TCP_ADDR: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    BROKER_PORT_1883_TCP_PORT: port,
  }
}

/** How a child ended: an exit code or a signal, or it never started. */
type Ending = { code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }

interface Running {
  child: ChildProcess
  ended: Promise<Ending>
}

function start(launch: Launch, io: CliIo): Running {
  // dies with this command, also on its kill -9 (src/process)
  const child = spawnChild(launch.command, launch.args, { cwd: launch.cwd, env: launch.env })
  child.stdout?.pipe(io.out, { end: false })
  child.stderr?.pipe(io.err, { end: false })
  const ended = new Promise<Ending>((resolvePromise) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resolvePromise({ error })
    })
    // 'close' rather than 'exit': the bundle's last lines are through when its pipes close.
    child.once('close', (code, signal) => resolvePromise({ code, signal }))
  })
  return { child, ended }
}

/** The command's exit code for an ending; prints why a bundle could not start. */
function exitCodeOf(ending: Ending, launch: Launch, io: CliIo): number {
  if ('error' in ending) {
    const { error } = ending
    if (error.code === 'ENOENT' && launch.python) {
      line(
        io.err,
        `bundlegate: ${launch.command} not found: Python bundles need python3 with paho-mqtt (and sanji for SDK bundles); install them, or set BUNDLEGATE_PYTHON to the interpreter to use`,
      )
    } else line(io.err, `bundlegate: cannot start ${launch.command}: ${error.message}`)
    return 1
  }
  if (ending.code !== null) return ending.code
  return 128 + (ending.signal ? (constants.signals[ending.signal] ?? 0) : 0)
}

function describeEnding(ending: Ending): string {
  if ('error' in ending) return `could not start (${ending.error.message})`
  return ending.code !== null ? `exited with code ${ending.code}` : `was killed by ${ending.signal}`
}

/** SIGINT / SIGTERM of this process (or the test hook's abort) for as long as the command runs. */
function onStopSignals(options: RunOptions, handler: (signal: NodeJS.Signals) => void): () => void {
  const onInt = () => handler('SIGINT')
  const onTerm = () => handler('SIGTERM')
  process.on('SIGINT', onInt)
  process.on('SIGTERM', onTerm)
  options.signal?.addEventListener('abort', onTerm)
  if (options.signal?.aborted) queueMicrotask(onTerm)
  return () => {
    process.removeListener('SIGINT', onInt)
    process.removeListener('SIGTERM', onTerm)
    options.signal?.removeEventListener('abort', onTerm)
  }
}

/** Passes signals on; the third one is SIGKILL (a bundle stuck while stopping). */
function forwarder(current: () => ChildProcess | undefined): (signal: NodeJS.Signals) => void {
  let count = 0
  return (signal) => {
    const child = current()
    if (!child || !isRunning(child)) return
    count++
    child.kill(count >= 3 ? 'SIGKILL' : signal)
  }
}

async function runOnce(launch: Launch, io: CliIo, options: RunOptions): Promise<number> {
  const running = start(launch, io)
  const off = onStopSignals(
    options,
    forwarder(() => running.child),
  )
  try {
    return exitCodeOf(await running.ended, launch, io)
  } finally {
    off()
  }
}

/** SIGTERM, then SIGKILL after {@link KILL_AFTER_MS}; resolves when the bundle is gone. */
async function stop(running: Running): Promise<Ending> {
  await stopChild(running.child, KILL_AFTER_MS)
  return running.ended
}

/**
 * `--watch`: runs the bundle, restarts it when a file changes (also after it exited by itself), and ends with the
 * bundle's exit code when SIGINT or SIGTERM arrives.
 */
async function watchLoop(launch: Launch, dir: string, io: CliIo, options: RunOptions): Promise<number> {
  let running: Running | undefined
  let stopSignal = false
  let changed: string[] = []
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  const forward = forwarder(() => running?.child)
  const off = onStopSignals(options, (signal) => {
    stopSignal = true
    forward(signal)
    notify()
  })
  const watcher = new TreeWatcher(dir, (files) => {
    changed.push(...files)
    notify()
  })
  await watcher.start()
  try {
    let last: Ending = { code: 0, signal: null }
    while (!stopSignal) {
      running = start(launch, io)
      const current = running
      let exited = false
      void current.ended.then(() => {
        exited = true
        notify()
      })
      // wait for a change, a stop signal, or the bundle's own exit
      while (!stopSignal && changed.length === 0 && !exited) await new Promise<void>((r) => (wake = r))
      if (stopSignal) {
        last = await current.ended
        break
      }
      if (exited) {
        last = await current.ended
        if ('error' in last) return exitCodeOf(last, launch, io)
        line(io.err, `bundlegate: ${describeEnding(last)}; waiting for a file change to restart`)
        while (!stopSignal && changed.length === 0) await new Promise<void>((r) => (wake = r))
        if (stopSignal) break
      }
      const files = [...new Set(changed)]
      changed = []
      line(
        io.err,
        `bundlegate: restarting: ${files[0]} changed${files.length > 1 ? ` (and ${files.length - 1} more)` : ''}`,
      )
      if (!exited) last = await stop(current)
    }
    return exitCodeOf(last, launch, io)
  } finally {
    watcher.close()
    off()
    if (running && isRunning(running.child)) await stop(running)
  }
}

/** Whether a path (relative to the bundle directory) is outside what `--watch` looks at. */
function ignored(rel: string): boolean {
  const parts = rel.split(sep)
  if (parts[0] === 'data') return true // the bundle's own state: writing it must not restart it
  return parts.some(
    (p) =>
      p.startsWith('.') ||
      p === 'node_modules' ||
      p === '__pycache__' ||
      p.endsWith('~') ||
      p.endsWith('.pyc'),
  )
}

/**
 * Watches a directory tree with one non-recursive fs.watch per directory (recursive watching is not available on
 * Linux in Node 20). Directories that appear are watched from the next change on; symbolic links are not followed.
 * Changes are reported in batches, {@link DEBOUNCE_MS} after the last one.
 */
class TreeWatcher {
  readonly #root: string
  readonly #onChange: (files: string[]) => void
  readonly #watchers = new Map<string, FSWatcher>()
  #pending: string[] = []
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(root: string, onChange: (files: string[]) => void) {
    this.#root = root
    this.#onChange = onChange
  }

  async start(): Promise<void> {
    await this.#scan()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    for (const w of this.#watchers.values()) w.close()
    this.#watchers.clear()
  }

  async #scan(): Promise<void> {
    const found = new Set<string>()
    const walk = async (dir: string): Promise<void> => {
      found.add(dir)
      let entries: Dirent[]
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch {
        return // vanished meanwhile
      }
      for (const e of entries) {
        const path = join(dir, e.name)
        if (e.isDirectory() && !ignored(relative(this.#root, path))) await walk(path)
      }
    }
    await walk(this.#root)
    if (this.#closed) return
    for (const [dir, w] of this.#watchers) {
      if (!found.has(dir)) {
        w.close()
        this.#watchers.delete(dir)
      }
    }
    for (const dir of found) if (!this.#watchers.has(dir)) this.#watch(dir)
  }

  #watch(dir: string): void {
    let w: FSWatcher
    try {
      w = watch(dir, (_event, name) => {
        const rel = relative(this.#root, name ? join(dir, name.toString()) : dir)
        if (rel === '' || ignored(rel)) return
        this.#pending.push(rel)
        clearTimeout(this.#timer)
        this.#timer = setTimeout(() => void this.#flush(), DEBOUNCE_MS)
      })
    } catch {
      return // vanished meanwhile
    }
    w.on('error', () => {
      w.close()
      this.#watchers.delete(dir)
    })
    this.#watchers.set(dir, w)
  }

  async #flush(): Promise<void> {
    const files = [...new Set(this.#pending)]
    this.#pending = []
    await this.#scan() // new directories, removed ones
    if (!this.#closed && files.length > 0) this.#onChange(files)
  }
}
