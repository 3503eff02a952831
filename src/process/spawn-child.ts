/**
 * Child processes that die with the gateway, also when the gateway is killed with SIGKILL: every program the
 * gateway starts (`bundlegate start --example`, `bundlegate run`, later the bundle manager) goes through
 * {@link spawnChild}. Two mechanisms, each enough on its own:
 *
 * - **the death signal**: on Linux the child is started through `setpriv --pdeathsig KILL -- <command>`
 *   (util-linux). setpriv sets PR_SET_PDEATHSIG and then exec()s the command, so the child keeps its pid and needs
 *   no cooperation: a Python bundle or any executable is killed by the kernel the moment its parent is gone.
 *   PR_SET_PDEATHSIG fires when the parent *thread* that spawned the child exits; Node spawns from its main thread,
 *   whose end is the end of the process.
 * - **the lifeline**: file descriptor {@link LIFELINE_FD} of the child is one end of a pipe whose other end only
 *   the gateway holds; {@link PARENT_FD_ENV} names it. The Bundlegate SDK watches it (`src/sdk/parent-watch.ts`)
 *   and stops the bundle gracefully when it reads end-of-file. That covers Node bundles where setpriv is missing
 *   (another OS, a minimal image) or when the spawning thread is not the main one.
 *
 * Where neither applies (no setpriv, a program that does not watch the lifeline) a child can outlive a killed
 * gateway; {@link deathSignalLauncher} returns undefined then and the caller logs it once.
 * @module
 */

import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'

/** The environment variable that tells a child which of its file descriptors is the lifeline. */
export const PARENT_FD_ENV = 'BUNDLEGATE_PARENT_FD'
/** The child's file descriptor of the lifeline (after stdin, stdout, stderr). */
export const LIFELINE_FD = 3
/** The environment variable naming the setpriv to use; `none` starts children without it. */
export const SETPRIV_ENV = 'BUNDLEGATE_SETPRIV'
/** How long {@link stopChild} waits after SIGTERM before SIGKILL, unless told otherwise. */
export const DEFAULT_KILL_AFTER_MS = 5000

/** Options of {@link spawnChild}. */
export interface SpawnChildOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** stdin, stdout, stderr as for `child_process.spawn`; the lifeline is appended. @default ['ignore', 'pipe', 'pipe'] */
  stdio?: ['ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit', 'ignore' | 'pipe' | 'inherit']
}

let launcher: { path: string | undefined } | undefined
/** Whether a setpriv named by {@link SETPRIV_ENV} works, per path (checked once each). */
const checked = new Map<string, boolean>()

/**
 * The setpriv that supports `--pdeathsig` (checked once by running `setpriv --pdeathsig KILL -- true`), or
 * undefined: not Linux, not installed, too old (util-linux before 2.33), or `BUNDLEGATE_SETPRIV=none`.
 */
export function deathSignalLauncher(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const wanted = env[SETPRIV_ENV]
  if (wanted === 'none') return undefined
  if (wanted) {
    if (!checked.has(wanted)) checked.set(wanted, works(wanted))
    return checked.get(wanted) ? wanted : undefined
  }
  if (launcher === undefined) {
    const found = process.platform === 'linux' ? findExecutable('setpriv', env) : undefined
    launcher = { path: found !== undefined && works(found) ? found : undefined }
  }
  return launcher.path
}

/**
 * Spawns `command args` so that it dies with this process (see the module comment). The returned ChildProcess
 * is the program itself (same pid: setpriv exec()s it); `child.stdio[3]` is the gateway's end of the lifeline.
 */
export function spawnChild(
  command: string,
  args: readonly string[],
  options: SpawnChildOptions = {},
): ChildProcess {
  const setpriv = deathSignalLauncher()
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env), [PARENT_FD_ENV]: String(LIFELINE_FD) }
  const spawnOptions: SpawnOptions = {
    env,
    stdio: [...(options.stdio ?? ['ignore', 'pipe', 'pipe']), 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }
  // A command that cannot be found is spawned directly, so that the caller gets Node's usual ENOENT 'error'
  // event rather than setpriv's exit code 127.
  const child =
    setpriv === undefined || !findable(command, env)
      ? spawn(command, [...args], spawnOptions)
      : spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], spawnOptions)
  // The gateway never writes to the lifeline; its end only has to stay open, and must not keep the loop alive.
  const lifeline = child.stdio[LIFELINE_FD] as (NodeJS.ReadableStream & { unref?: () => void }) | null
  lifeline?.on('error', () => {})
  lifeline?.resume() // flowing: its end-of-file at the child's exit closes it, so 'close' of the child fires
  lifeline?.unref?.()
  return child
}

/** Whether the child has not exited yet (and did start). */
export function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null
}

/**
 * Stops a child gracefully: SIGTERM, then SIGKILL after `killAfterMs`; resolves once it has exited (at once when
 * it already has).
 */
export async function stopChild(
  child: ChildProcess,
  killAfterMs: number = DEFAULT_KILL_AFTER_MS,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (!isRunning(child)) resolve({ code: child.exitCode, signal: child.signalCode })
    else child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  if (!isRunning(child)) return exited
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), killAfterMs)
  })
  const first = await Promise.race([exited, late])
  clearTimeout(timer)
  if (first !== 'late') return first
  if (isRunning(child)) child.kill('SIGKILL')
  return exited
}

function works(setpriv: string): boolean {
  const r = spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5000 })
  return r.status === 0
}

function findable(command: string, env: NodeJS.ProcessEnv): boolean {
  if (command.includes('/')) {
    try {
      accessSync(command, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  return findExecutable(command, env, false) !== undefined
}

function findExecutable(name: string, env: NodeJS.ProcessEnv, system = true): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => isAbsolute(d))
  if (system) dirs.push('/usr/bin', '/bin')
  for (const dir of dirs) {
    const file = join(dir, name)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // next
    }
  }
  return undefined
}
