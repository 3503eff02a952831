/**
 * Every process and temporary directory the benchmark creates, so that all of them are gone at the end: after a
 * normal run, on an error, on SIGINT / SIGTERM, and (best effort, synchronously) on exit.
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const children = new Set<ChildProcess>()
/** Processes we did not spawn ourselves but must not leave behind (the bundle the gateway spawns). */
const pids = new Set<number>()
const dirs = new Set<string>()

/** Registers a child process for cleanup. */
export function track<T extends ChildProcess>(child: T): T {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Registers a pid (not our child) for cleanup. */
export function trackPid(pid: number): void {
  pids.add(pid)
}

/** A fresh temporary directory, removed at the end. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

export async function removeDir(dir: string): Promise<void> {
  dirs.delete(dir)
  await rm(dir, { recursive: true, force: true })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** SIGTERM to a pid that is not our child, then SIGKILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  pids.delete(pid)
  if (!alive(pid)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const end = Date.now() + graceMs
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
}

/** Stops every tracked process and removes every temporary directory. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopChild(c)))
  await Promise.all([...pids].map((p) => stopPid(p)))
  await Promise.all([...dirs].map((d) => removeDir(d)))
}

let stopping = false

/** True once SIGINT or SIGTERM has arrived (failures that follow are expected, not worth reporting). */
export function interrupted(): boolean {
  return stopping
}

/** Cleans up on SIGINT / SIGTERM (then exits 130 / 143) and, synchronously and forcefully, on exit. */
export function installCleanupHandlers(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    process.stderr.write(`\n${signal}: stopping every process the benchmark started\n`)
    void cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL')
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
}
