/**
 * What test/docs/tutorial.test.ts needs to run docs/tutorial.md: the page's fenced blocks with their
 * `<!-- tutorial: … -->` markers, and shell processes in their own process groups (so that a block's whole tree,
 * `npm` → `bundlegate run` → the bundle, is stopped together), every wait bounded.
 * @module
 */

import { type ChildProcess, spawn } from 'node:child_process'

// ------------------------------------------------------------------------------------------ the page

/** What a marker tells the test to do with the block after it. */
export type MarkerKind = 'gateway' | 'create' | 'file' | 'test' | 'run' | 'call'

const MARKER_KINDS: readonly MarkerKind[] = ['gateway', 'create', 'file', 'test', 'run', 'call']

/** A `<!-- tutorial: kind [arg] -->` marker. */
export interface Marker {
  kind: MarkerKind
  /** The file name of a `file` marker. */
  arg: string | undefined
}

/** One fenced block of the page. */
export interface Block {
  /** Its position among the page's fenced blocks (0-based). */
  index: number
  /** The 1-based line of the opening fence. */
  line: number
  /** The info string after the fence (`sh`, `ts`, `json`, `text`, …). */
  lang: string
  /** The content, every line ending with `\n`. */
  body: string
  /** The marker on the last non-blank line before the fence, if any. */
  marker: Marker | undefined
}

const MARKER = /^<!--\s*tutorial:\s*(.*?)\s*-->\s*$/
const FENCE = /^```(.*)$/

/**
 * The page's fenced blocks, in order. Throws on what would let a block escape the test: a fence that is not closed,
 * a marker of an unknown kind or with a wrong argument count, a marker that is not directly followed by a block.
 */
export function parseTutorial(markdown: string): Block[] {
  const lines = markdown.split('\n')
  const blocks: Block[] = []
  let pending: { marker: Marker; line: number } | undefined
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string
    const m = MARKER.exec(text)
    if (m) {
      if (pending) throw new Error(`tutorial line ${pending.line}: marker not followed by a fenced block`)
      const [kind, ...args] = (m[1] as string).split(/\s+/)
      if (!MARKER_KINDS.includes(kind as MarkerKind))
        throw new Error(
          `tutorial line ${i + 1}: unknown marker kind "${kind}" (known: ${MARKER_KINDS.join(', ')})`,
        )
      if (kind === 'file' ? args.length !== 1 : args.length !== 0)
        throw new Error(`tutorial line ${i + 1}: marker "${text.trim()}" has the wrong number of arguments`)
      pending = { marker: { kind: kind as MarkerKind, arg: args[0] }, line: i + 1 }
      continue
    }
    const fence = FENCE.exec(text)
    if (fence) {
      const start = i
      const body: string[] = []
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(`${lines[i]}\n`)
      if (i >= lines.length) throw new Error(`tutorial line ${start + 1}: fence never closed`)
      blocks.push({
        index: blocks.length,
        line: start + 1,
        lang: (fence[1] as string).trim(),
        body: body.join(''),
        marker: pending?.marker,
      })
      pending = undefined
      continue
    }
    if (pending && text.trim() !== '')
      throw new Error(`tutorial line ${pending.line}: marker not followed by a fenced block`)
  }
  if (pending) throw new Error(`tutorial line ${pending.line}: marker not followed by a fenced block`)
  return blocks
}

/** The block right after `block` when it is an unmarked `text` block (shown output), else undefined. */
export function outputAfter(blocks: readonly Block[], block: Block): Block | undefined {
  const next = blocks[block.index + 1]
  return next && next.lang === 'text' && next.marker === undefined ? next : undefined
}

// ------------------------------------------------------------------------------------------ processes

/** A process started by {@link startGroup}: the leader of its own process group. */
export interface GroupProcess {
  readonly child: ChildProcess
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string
  /** stdout so far. */
  stdout(): string
  /** stderr so far. */
  stderr(): string
  /** Resolves with the exit. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** True until it exited. */
  running(): boolean
  /**
   * SIGTERM to the whole group, SIGKILL to the group after `graceMs`; resolves once the leader exited (or after
   * another `graceMs` at most). Idempotent.
   */
  stop(graceMs?: number): Promise<void>
}

const groups = new Set<GroupProcess>()
process.once('exit', () => {
  // last resort when a test crashed before its cleanup: no orphan gateway or bundle is left behind
  for (const g of groups) if (g.child.pid !== undefined) killGroup(g.child.pid, 'SIGKILL')
})

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal)
  } catch {
    // the group is gone already
  }
}

/** Spawns `command args` detached (its own process group), stdin ignored, output collected. */
export function startGroup(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): GroupProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let all = ''
  let out = ''
  let err = ''
  child.stdout?.on('data', (b: Buffer) => {
    all += b.toString()
    out += b.toString()
  })
  child.stderr?.on('data', (b: Buffer) => {
    all += b.toString()
    err += b.toString()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }))
    // 'close': the last output is in once the pipes closed
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
  let stopping: Promise<void> | undefined
  const g: GroupProcess = {
    child,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    exited,
    running: () => child.exitCode === null && child.signalCode === null && child.pid !== undefined,
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        const pid = child.pid
        if (pid === undefined) return
        killGroup(pid, 'SIGTERM') // also when the leader exited: its children may still run
        const timer = (ms: number) =>
          new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())
        if ((await Promise.race([exited, timer(graceMs)])) === 'timeout') {
          killGroup(pid, 'SIGKILL')
          await Promise.race([exited, timer(graceMs)])
        }
        killGroup(pid, 'SIGKILL') // whatever of the group is left
        groups.delete(g)
      })()
      return stopping
    },
  }
  groups.add(g)
  void exited.then(() => {
    if (!stopping) groups.delete(g)
  })
  return g
}

/** Resolves once `predicate()` holds (polled every 25 ms); rejects after `ms` or when `proc` exits first. */
export async function waitForOutput(
  proc: GroupProcess,
  predicate: () => boolean,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    if (predicate()) return
    if (!proc.running()) {
      await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 1000))])
      if (predicate()) return
      throw new Error(
        `exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode}) before ${what}; output:\n${proc.output()}`,
      )
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${proc.output()}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** The result of {@link runScript}. */
export interface ScriptResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * Runs `script` with `bash -e -o pipefail` (a line that fails fails the block, unless the page says `|| true`) and
 * waits at most `timeoutMs`, then kills its whole process group and rejects.
 */
export async function runScript(
  script: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ScriptResult> {
  const started = Date.now()
  const proc = startGroup('bash', ['-e', '-o', 'pipefail', '-c', script], options)
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), options.timeoutMs)
  })
  try {
    const ended = await Promise.race([proc.exited, timedOut])
    if (ended === 'timeout') {
      await proc.stop(1000)
      throw new Error(
        `did not finish within ${options.timeoutMs} ms:\n${script}\n--- output:\n${proc.output()}`,
      )
    }
    await proc.stop(1000) // anything the script left running in the background
    return { ...ended, stdout: proc.stdout(), stderr: proc.stderr(), ms: Date.now() - started }
  } finally {
    clearTimeout(timer)
  }
}
