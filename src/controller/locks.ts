import type { Chain } from './chain.ts'
import type { Component } from './component.ts'

/** What a write session locks (wire-protocol.md §5.9): the patterns of every chain model, and the models. */
export interface LockSet {
  patterns: ReadonlySet<string>
  models: ReadonlySet<string>
}

/** The lock set of a write chain. Built-ins never lock: they answer synchronously (§8.6). */
export function lockSetOf(chain: Chain): LockSet {
  const patterns = new Set<string>()
  const models = new Set<string>()
  for (const step of chain.steps) {
    for (const m of step) {
      if (m.builtin) continue
      models.add(m.name)
      for (const p of m.patterns) patterns.add(p)
    }
  }
  return { patterns, models }
}

/** Whether a request (its matched patterns and chain models) meets a lock set [WP-36]. */
export function meets(lock: LockSet, matched: readonly string[], chainModels: readonly Component[]): boolean {
  for (const p of matched) if (lock.patterns.has(p)) return true
  for (const m of chainModels) if (lock.models.has(m.name)) return true
  return false
}

/** The locks held by in-flight write sessions, counted so that releases are exact. */
export class LockTable {
  readonly #patterns = new Map<string, number>()
  readonly #models = new Map<string, number>()

  take(lock: LockSet): void {
    for (const p of lock.patterns) this.#patterns.set(p, (this.#patterns.get(p) ?? 0) + 1)
    for (const m of lock.models) this.#models.set(m, (this.#models.get(m) ?? 0) + 1)
  }

  release(lock: LockSet): void {
    for (const p of lock.patterns) dec(this.#patterns, p)
    for (const m of lock.models) dec(this.#models, m)
  }

  patternLocked(pattern: string): boolean {
    return this.#patterns.has(pattern)
  }

  modelLocked(name: string): boolean {
    return this.#models.has(name)
  }

  get empty(): boolean {
    return this.#patterns.size === 0 && this.#models.size === 0
  }

  /** Whether a request meets any held lock [WP-36]. */
  meets(matched: readonly string[], chainModels: readonly Component[]): boolean {
    for (const p of matched) if (this.#patterns.has(p)) return true
    for (const m of chainModels) if (this.#models.has(m.name)) return true
    return false
  }
}

function dec(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}
