/**
 * Reads a child's output line by line (always, so that its pipe never fills), keeps the last lines for error
 * messages, and waits for a line that matches.
 * @module
 */
import type { ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'

interface Waiter {
  pattern: RegExp
  resolve: (m: { match: RegExpExecArray; at: number }) => void
}

export class LineWatcher {
  readonly lines: string[] = []
  readonly #times: number[] = []
  readonly #waiters = new Set<Waiter>()
  readonly #keep: number
  #exited: string | undefined
  readonly #exitListeners = new Set<(why: string) => void>()

  constructor(child: ChildProcess, keep = 300) {
    this.#keep = keep
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (l) => this.#line(l))
    }
    child.once('exit', (code, signal) => {
      this.#exited = `exited (${signal ?? `code ${code}`})`
      for (const l of this.#exitListeners) l(this.#exited)
    })
  }

  #line(line: string): void {
    const at = performance.now()
    this.lines.push(line)
    this.#times.push(at)
    if (this.lines.length > this.#keep) {
      this.lines.shift()
      this.#times.shift()
    }
    for (const w of this.#waiters) {
      const match = w.pattern.exec(line)
      if (match) {
        this.#waiters.delete(w)
        w.resolve({ match, at })
      }
    }
  }

  /**
   * Resolves with the first line (already seen or to come) matching `pattern`, and when it arrived
   * (performance.now()); rejects after `timeoutMs` or when the process exits first.
   */
  waitFor(pattern: RegExp, timeoutMs: number, what: string): Promise<{ match: RegExpExecArray; at: number }> {
    for (let i = 0; i < this.lines.length; i++) {
      const match = pattern.exec(this.lines[i] as string)
      if (match) return Promise.resolve({ match, at: this.#times[i] as number })
    }
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.#waiters.delete(waiter)
        this.#exitListeners.delete(fail)
        clearTimeout(timer)
        reject(new Error(`${what}: ${why}; last output:\n${this.lines.slice(-30).join('\n')}`))
      }
      const waiter: Waiter = {
        pattern,
        resolve: (m) => {
          clearTimeout(timer)
          this.#exitListeners.delete(fail)
          resolve(m)
        },
      }
      const timer = setTimeout(() => fail(`nothing after ${timeoutMs} ms`), timeoutMs)
      if (this.#exited) {
        fail(this.#exited)
        return
      }
      this.#waiters.add(waiter)
      this.#exitListeners.add(fail)
    })
  }
}
