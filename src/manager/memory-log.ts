/**
 * TEMPORARY stand-in for src/manager/bundle-log.ts (written by the sibling branch h/mgrparts): keeps the last lines
 * in memory only. Replaced by BundleLog as soon as that branch is merged.
 * @module
 */

import type { BundleLogPort } from './managed-bundle.ts'
import type { LogLine } from './types.ts'

export class MemoryLog implements BundleLogPort {
  readonly #lines: LogLine[] = []
  readonly #followers = new Set<(l: LogLine) => void>()
  #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' }

  write(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const parts = (this.#partial[stream] + chunk.toString('utf8')).split('\n')
    this.#partial[stream] = parts.pop() ?? ''
    for (const line of parts) this.#push({ at: new Date().toISOString(), stream, line })
  }

  note(line: string): void {
    this.#push({ at: new Date().toISOString(), stream: 'manager', line })
  }

  async tail(n: number): Promise<LogLine[]> {
    return this.#lines.slice(-n)
  }

  follow(fn: (l: LogLine) => void): () => void {
    this.#followers.add(fn)
    return () => this.#followers.delete(fn)
  }

  get dropped(): number {
    return 0
  }

  async close(): Promise<void> {
    this.#followers.clear()
  }

  #push(l: LogLine): void {
    this.#lines.push(l)
    if (this.#lines.length > 1000) this.#lines.shift()
    for (const f of this.#followers) f(l)
  }
}
