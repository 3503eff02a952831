import { type Envelope, WIRE_TEXT } from '../protocol/index.ts'
import type { BuiltinAnswer, Component } from './component.ts'
import type { Registry } from './registry.ts'

/**
 * The `dependency` built-in (wire-protocol.md §5.10) [WP-37]: `GET /controller/resource/dependency?resource=<r>`
 * answers every pattern of the models matching r and of every model hooking them, transitively, level by level.
 */
export function createDependencyHandler(registry: Registry) {
  return (request: Envelope): BuiltinAnswer => {
    if (String(request.method).toLowerCase() !== 'get')
      return { code: 405, data: { message: WIRE_TEXT.methodNotAllowed } }
    const resource = request.resource as string
    const q = resource.lastIndexOf('?')
    if (q === -1) {
      return { code: 405, data: { message: WIRE_TEXT.methodNotAllowed, log: WIRE_TEXT.noReadCapability } }
    }
    const query = resource.slice(q)
    const prefix = '?resource='
    if (!query.startsWith(prefix)) {
      return {
        code: 403,
        data: { message: WIRE_TEXT.queryForbidden, log: WIRE_TEXT.queryForbiddenLog },
      }
    }
    const target = query.slice(prefix.length)
    const matched = registry.match(target)
    if (matched.length === 0) return { code: 404, data: { message: WIRE_TEXT.notRegistered } }

    const patterns: string[] = []
    const seenPatterns = new Set<string>()
    const seenModels = new Set<string>()
    let level: Component[] = []
    const visit = (c: Component, into: Component[]) => {
      if (c.role !== 'model' || seenModels.has(c.name)) return
      seenModels.add(c.name)
      into.push(c)
    }
    for (const p of matched) for (const c of registry.subscribers(p)) visit(c, level)
    while (level.length > 0) {
      const next: Component[] = []
      for (const m of level) {
        for (const p of registry.patternsOf(m)) {
          if (!seenPatterns.has(p)) {
            seenPatterns.add(p)
            patterns.push(p)
          }
        }
      }
      for (const m of level) for (const h of registry.hookersOf(m.name)) visit(h, next)
      level = next
    }
    return { code: 200, data: { resources: patterns } }
  }
}
