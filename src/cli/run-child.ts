/**
 * The bundle process of `bundlegate run`: starting it with its output streamed through, passing signals on,
 * stopping it, and the command's exit code from how it ended.
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { constants } from 'node:os'
import { isRunning, spawnChild, stopChild } from '../process/index.ts'
import { type CliIo, line } from './io.ts'
import type { Launch } from './run-launch.ts'

/** How long a stopping bundle gets before SIGKILL. */
const KILL_AFTER_MS = 5000

/** Test hooks: `signal` stops the command as SIGTERM would. */
export interface RunOptions {
  signal?: AbortSignal
}

/** How a child ended: an exit code or a signal, or it never started. */
export type Ending = { code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }

export interface Running {
  child: ChildProcess
  ended: Promise<Ending>
}

/** Starts the bundle, its output streamed through this command's. */
export function startBundle(launch: Launch, io: CliIo): Running {
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
export function exitCodeOf(ending: Ending, launch: Launch, io: CliIo): number {
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

/** "exited with code 1", "was killed by SIGTERM". */
export function describeEnding(ending: Ending): string {
  if ('error' in ending) return `could not start (${ending.error.message})`
  return ending.code !== null ? `exited with code ${ending.code}` : `was killed by ${ending.signal}`
}

/** SIGINT / SIGTERM of this process (or the test hook's abort) for as long as the command runs. */
export function onStopSignals(options: RunOptions, handler: (signal: NodeJS.Signals) => void): () => void {
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
export function forwarder(current: () => ChildProcess | undefined): (signal: NodeJS.Signals) => void {
  let count = 0
  return (signal) => {
    const child = current()
    if (!child || !isRunning(child)) return
    count++
    child.kill(count >= 3 ? 'SIGKILL' : signal)
  }
}

/** SIGTERM, then SIGKILL after {@link KILL_AFTER_MS}; resolves when the bundle is gone. */
export async function stopBundle(running: Running): Promise<Ending> {
  await stopChild(running.child, KILL_AFTER_MS)
  return running.ended
}

/** Runs the bundle once, passing signals on; resolves with the command's exit code. */
export async function runOnce(launch: Launch, io: CliIo, options: RunOptions): Promise<number> {
  const running = startBundle(launch, io)
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
