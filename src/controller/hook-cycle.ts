import type { Registry } from './registry.ts'

/** The registering component, as far as cycle detection needs it. */
export interface CycleCandidate {
  name: string
  role: string
  hooks: readonly string[]
}

/**
 * Finds a hook cycle the candidate would close (wire-protocol.md §8.7) [WP-55]. Edges go from each model M to every
 * model that hooks M; only models run steps. Returns the cycle in execution order, starting and ending with the
 * candidate (`['a', 'b', 'a']`), or undefined.
 */
export function findHookCycle(registry: Registry, candidate: CycleCandidate): string[] | undefined {
  if (candidate.role !== 'model') return undefined
  const hookers = (name: string): string[] => {
    const out: string[] = []
    for (const c of registry.components()) {
      if (c.name !== candidate.name && c.role === 'model' && c.hooks.includes(name)) out.push(c.name)
    }
    if (candidate.hooks.includes(name)) out.push(candidate.name)
    return out
  }
  // Depth-first search from the candidate along "is hooked by" edges, looking for the candidate again.
  const visited = new Set<string>()
  const path: string[] = [candidate.name]
  const dfs = (name: string): boolean => {
    for (const next of hookers(name)) {
      if (next === candidate.name) {
        path.push(next)
        return true
      }
      if (visited.has(next)) continue
      visited.add(next)
      path.push(next)
      if (dfs(next)) return true
      path.pop()
    }
    return false
  }
  return dfs(candidate.name) ? path : undefined
}
