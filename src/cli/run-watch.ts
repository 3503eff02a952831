/**
 * `bundlegate run --watch`: the bundle restarted on every file change.
 * @module
 */

import { isRunning } from '../process/index.ts'
import { type CliIo, line } from './io.ts'
import {
  describeEnding,
  type Ending,
  exitCodeOf,
  forwarder,
  onStopSignals,
  type Running,
  type RunOptions,
  startBundle,
  stopBundle,
} from './run-child.ts'
import type { Launch } from './run-launch.ts'
import { TreeWatcher } from './tree-watcher.ts'

/**
 * `--watch`: runs the bundle, restarts it when a file changes (also after it exited by itself), and ends with the
 * bundle's exit code when SIGINT or SIGTERM arrives.
 */
export async function watchLoop(
  launch: Launch,
  dir: string,
  io: CliIo,
  options: RunOptions,
): Promise<number> {
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
      running = startBundle(launch, io)
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
      if (!exited) last = await stopBundle(current)
    }
    return exitCodeOf(last, launch, io)
  } finally {
    watcher.close()
    off()
    if (running && isRunning(running.child)) await stopBundle(running)
  }
}
