/**
 * What Linux says about a process: CPU time (/proc/<pid>/stat utime + stime), resident memory
 * (/proc/<pid>/status VmRSS), its children and its command line.
 * @module
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`, almost always 100). */
export const CLK_TCK: number = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return Number.isFinite(n) && n > 0 ? n : 100
  } catch {
    return 100
  }
})()

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** User + system CPU seconds the process has used so far; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid)
  if (!f) return undefined
  // fields 14 and 15 of stat(5); index 0 here is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** Resident set size in KiB (VmRSS); undefined once the process is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** Peak resident set size in KiB (VmHWM); undefined once the process is gone. */
export function peakRssKiB(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** The parent pid of a process. */
export function parentPid(pid: number): number | undefined {
  const f = statFields(pid)
  return f ? Number(f[1]) : undefined
}

/** The command line of a process, arguments joined by spaces. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
  } catch {
    return ''
  }
}

/** The direct children of a process. */
export function childPids(pid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const child = Number(name)
    if (parentPid(child) === pid) out.push(child)
  }
  return out
}

/** CPU model and count, from /proc/cpuinfo. */
export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    return m ? (m[1] as string).trim() : 'unknown'
  } catch {
    return 'unknown'
  }
}
