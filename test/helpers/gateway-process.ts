/**
 * The `bundlegate` CLI as a real process (from the TypeScript sources, through tsx), for tests that must kill it
 * (kill -9) or send it signals, and the process-table look-ups they need (Linux `/proc`). Every process started
 * here is SIGKILLed when the test process exits, as a last resort; tests stop what they start themselves.
 * @module
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { REPO_ROOT } from './processes.ts'

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
})

/** A running `bundlegate <args>` process. */
export interface CliProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string
  /** Resolves with the first match of `re` in the output; rejects after `ms` or when the process exits first. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>
  /** Resolves when the process has exited (with its code and signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL unless it has exited; waits for the exit. */
  kill9(): Promise<void>
}

/** Starts `node --conditions=bundlegate-dev --import tsx src/cli/bin.ts <args>` in the repository root. */
export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
  delete childEnv.NODE_TEST_CONTEXT // the test runner's marker must not leak into the CLI
  const child = spawn(
    process.execPath,
    ['--conditions=bundlegate-dev', '--import', import.meta.resolve('tsx'), 'src/cli/bin.ts', ...args],
    { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  live.add(child)
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    }),
  )
  let ended = false
  void exited.then(() => (ended = true))
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    async waitFor(re: RegExp, ms = 30_000) {
      const end = Date.now() + ms
      for (;;) {
        const m = re.exec(out)
        if (m) return m
        if (ended) throw new Error(`bundlegate ${args[0]} exited before printing ${re}; output:\n${out}`)
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${re}; output:\n${out}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** One entry of the process table. */
export interface ProcEntry {
  pid: number
  ppid: number
  /** R, S, D, Z (zombie), … */
  state: string
  cmdline: string
}

/** The process `pid`, or undefined when there is none (a zombie is returned, with state Z). */
export function procEntry(pid: number): ProcEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    return { pid, ppid: Number(rest[1]), state: rest[0] ?? '?', cmdline }
  } catch {
    return undefined
  }
}

/** Whether `pid` is a live process (neither gone nor a zombie waiting to be reaped). */
export function isAlive(pid: number): boolean {
  const entry = procEntry(pid)
  return entry !== undefined && entry.state !== 'Z' && entry.state !== 'X'
}

/** The live children of `pid` whose command line matches `re`. */
export function childrenOf(pid: number, re: RegExp = /./): ProcEntry[] {
  const found: ProcEntry[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const entry = procEntry(Number(name))
    if (entry && entry.ppid === pid && entry.state !== 'Z' && re.test(entry.cmdline)) found.push(entry)
  }
  return found
}
