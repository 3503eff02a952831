/**
 * Resident memory of a process and all its descendants, read from Linux's /proc: a bundle that forks workers is
 * measured whole. Elsewhere (no /proc) it answers null and the memory limit does nothing.
 * @module
 */

import { readdir, readFile } from 'node:fs/promises'

/** The parent pid of every process (from `/proc/<pid>/stat`, field 4), or undefined without /proc. */
async function parents(): Promise<Map<number, number> | undefined> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return undefined
  }
  const out = new Map<number, number>()
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (e) => {
        try {
          const stat = await readFile(`/proc/${e}/stat`, 'utf8')
          // the command name (field 2) is in parentheses and may contain spaces: parse after the last ')'
          const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
          out.set(Number(e), Number(rest[1]))
        } catch {
          // gone meanwhile
        }
      }),
  )
  return out
}

/** `VmRSS` of one process in bytes; 0 when it is gone or a zombie. */
async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** The pids of `root` and its descendants. */
export function descendants(root: number, parentOf: ReadonlyMap<number, number>): number[] {
  const children = new Map<number, number[]>()
  for (const [pid, ppid] of parentOf) {
    const list = children.get(ppid)
    if (list) list.push(pid)
    else children.set(ppid, [pid])
  }
  const out: number[] = []
  const todo = [root]
  while (todo.length > 0 && out.length < 10_000) {
    const pid = todo.pop() as number
    out.push(pid)
    for (const c of children.get(pid) ?? []) todo.push(c)
  }
  return out
}

/** RSS in bytes of each root's process tree (by root pid); null for every root when /proc is not there. */
export async function processTreeRss(roots: readonly number[]): Promise<Map<number, number | null>> {
  const result = new Map<number, number | null>()
  if (roots.length === 0) return result
  const parentOf = await parents()
  for (const root of roots) {
    if (!parentOf) {
      result.set(root, null)
      continue
    }
    const sizes = await Promise.all(descendants(root, parentOf).map(rssOf))
    result.set(
      root,
      sizes.reduce((a, b) => a + b, 0),
    )
  }
  return result
}
