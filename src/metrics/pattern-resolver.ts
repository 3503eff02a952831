import type { ComponentInfo } from '../controller/index.ts'
import { matchingPatterns, resourceName } from '../protocol/index.ts'

/** What a resource resolves to for labels: the registered pattern and the model bundle that owns it. */
export interface ResolvedResource {
  pattern: string
  bundle: string
}

/** A resource no registered pattern matches. */
export const UNMATCHED: ResolvedResource = { pattern: 'none', bundle: 'none' }

/** Resolutions kept at most; the cache is emptied when full (raw resources are unbounded). */
const CACHE_ENTRIES = 2048

/**
 * Maps a raw resource to the pattern it was routed by, never the raw path (label cardinality, issue 17): the first
 * pattern in registry order that a model holds ([WP-24]), from a copy of the registry's patterns refreshed on every
 * registration change. Resolutions are cached, bounded.
 */
export class PatternResolver {
  /** Patterns in registry order with their first model (undefined: views only). */
  readonly #byPattern = new Map<string, string | undefined>()
  readonly #cache = new Map<string, ResolvedResource>()

  /** Rebuilds the pattern list from a registry snapshot. */
  refresh(components: readonly ComponentInfo[]): void {
    this.#byPattern.clear()
    for (const c of components) {
      for (const p of c.patterns) {
        const known = this.#byPattern.get(p)
        if (known === undefined) this.#byPattern.set(p, c.role === 'model' ? c.name : undefined)
      }
    }
    this.#cache.clear()
  }

  resolve(resource: string): ResolvedResource {
    const name = resourceName(resource)
    const hit = this.#cache.get(name)
    if (hit) return hit
    const matched = matchingPatterns(this.#byPattern.keys(), name)
    let out = UNMATCHED
    for (const pattern of matched) {
      const model = this.#byPattern.get(pattern)
      if (model !== undefined) {
        out = { pattern, bundle: model }
        break
      }
    }
    if (out === UNMATCHED && matched[0] !== undefined) out = { pattern: matched[0], bundle: 'none' }
    if (this.#cache.size >= CACHE_ENTRIES) this.#cache.clear()
    this.#cache.set(name, out)
    return out
  }

  /** Registered patterns (for tests and the overview). */
  get patterns(): number {
    return this.#byPattern.size
  }
}
