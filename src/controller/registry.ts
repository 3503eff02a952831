import { matchingPatterns } from '../protocol/index.ts'
import type { Component } from './component.ts'

/**
 * The registry: patterns in order of creation, each with its ordered subscribers, and the components by name
 * (wire-protocol.md §5.1). Map iteration order is insertion order, which is exactly the order the spec asks for.
 */
export class Registry {
  readonly #components = new Map<string, Component>()
  readonly #patterns = new Map<string, string[]>()
  readonly #tunnels = new Map<string, Component>()

  get(name: string): Component | undefined {
    return this.#components.get(name)
  }

  has(name: string): boolean {
    return this.#components.has(name)
  }

  components(): IterableIterator<Component> {
    return this.#components.values()
  }

  get size(): number {
    return this.#components.size
  }

  hasTunnel(tunnel: string): boolean {
    return this.#tunnels.has(tunnel)
  }

  /** The component whose tunnel this is. */
  byTunnel(tunnel: string): Component | undefined {
    return this.#tunnels.get(tunnel)
  }

  /** Adds a component and subscribes it to its patterns (new patterns are appended). */
  add(component: Component): void {
    this.#components.set(component.name, component)
    if (component.tunnel !== undefined) this.#tunnels.set(component.tunnel, component)
    for (const p of component.patterns) {
      const subs = this.#patterns.get(p)
      if (subs) subs.push(component.name)
      else this.#patterns.set(p, [component.name])
    }
  }

  /** Removes a component; patterns left without subscribers are removed [WP-20]. */
  remove(name: string): Component | undefined {
    const component = this.#components.get(name)
    if (!component) return undefined
    this.#components.delete(name)
    if (component.tunnel !== undefined) this.#tunnels.delete(component.tunnel)
    for (const p of component.patterns) {
      const subs = this.#patterns.get(p)
      if (!subs) continue
      const rest = subs.filter((n) => n !== name)
      if (rest.length === 0) this.#patterns.delete(p)
      else this.#patterns.set(p, rest)
    }
    return component
  }

  /** Every registered pattern matching `resource` (query ignored), in registry order (§5.1 step 4) [WP-24][WP-25]. */
  match(resource: string): string[] {
    return matchingPatterns(this.#patterns.keys(), resource)
  }

  /** The subscribers of a pattern, in subscription order. */
  subscribers(pattern: string): Component[] {
    const names = this.#patterns.get(pattern)
    if (!names) return []
    const out: Component[] = []
    for (const n of names) {
      const c = this.#components.get(n)
      if (c) out.push(c)
    }
    return out
  }

  /** The model that holds exactly this pattern, other than `except` (ownership, §8.2). */
  modelHolding(pattern: string, except?: string): Component | undefined {
    for (const c of this.subscribers(pattern)) if (c.role === 'model' && c.name !== except) return c
    return undefined
  }

  /** The patterns a component subscribes to, in registry order. */
  patternsOf(component: Component): string[] {
    const own = new Set(component.patterns)
    const out: string[] = []
    for (const p of this.#patterns.keys()) if (own.has(p)) out.push(p)
    return out
  }

  /** The components whose hook list names `name`, in registry order. */
  hookersOf(name: string): Component[] {
    const out: Component[] = []
    for (const c of this.#components.values()) if (c.hooks.includes(name)) out.push(c)
    return out
  }
}
