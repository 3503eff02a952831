import type { Component } from './component.ts'
import type { Registry } from './registry.ts'

/** The step chain and view list of one request (wire-protocol.md §5.3, §8.7). */
export interface Chain {
  /** Step 1 holds the models of the matched patterns; later steps the models that hook the previous step (writes). */
  steps: Component[][]
  /** Views of the matched patterns plus hooking views, each once. */
  views: Component[]
}

/**
 * Builds the chain [WP-29][WP-56][WP-57]: a component appears once per step; views never make a step; a step
 * without models ends the chain; GET never runs hooks. Hook cycles are refused at registration, and the step count
 * is bounded anyway so a chain can never loop.
 */
export function buildChain(registry: Registry, matched: readonly string[], write: boolean): Chain {
  const views: Component[] = []
  const viewSeen = new Set<string>()
  const addView = (c: Component) => {
    if (!viewSeen.has(c.name)) {
      viewSeen.add(c.name)
      views.push(c)
    }
  }
  const first: Component[] = []
  const firstSeen = new Set<string>()
  for (const p of matched) {
    for (const c of registry.subscribers(p)) {
      if (c.role === 'model') {
        if (!firstSeen.has(c.name)) {
          firstSeen.add(c.name)
          first.push(c)
        }
      } else if (c.role === 'view') addView(c)
    }
  }
  const steps = [first]
  if (write) {
    let current = first
    const maxSteps = registry.size + 1
    while (current.length > 0 && steps.length < maxSteps) {
      const next: Component[] = []
      const seen = new Set<string>()
      for (const m of current) {
        for (const h of registry.hookersOf(m.name)) {
          if (h.role === 'model') {
            if (!seen.has(h.name)) {
              seen.add(h.name)
              next.push(h)
            }
          } else if (h.role === 'view') addView(h)
        }
      }
      if (next.length === 0) break
      steps.push(next)
      current = next
    }
  }
  return { steps, views }
}

/** The views of the matched patterns only (where errors raised before a session go, §5.7). */
export function viewsOf(registry: Registry, matched: readonly string[]): Component[] {
  const out: Component[] = []
  const seen = new Set<string>()
  for (const p of matched) {
    for (const c of registry.subscribers(p)) {
      if (c.role === 'view' && !seen.has(c.name)) {
        seen.add(c.name)
        out.push(c)
      }
    }
  }
  return out
}
