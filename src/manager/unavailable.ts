/**
 * Which managed bundle, not serving, owns a resource: the web service answers its requests 503 at once ([HA-15]).
 * @module
 */
import { resourceName } from '../protocol/index.ts'
import { manifestPatterns, overlaps } from './install-checks.ts'
import type { ManagedBundle } from './managed-bundle.ts'
import type { ManagedState } from './types.ts'

/** States in which a bundle's requests go to the controller (a starting bundle may have registered already). */
export const SERVING: ReadonlySet<ManagedState> = new Set(['starting', 'running'])

/** The bundle a request for `resource` would reach, when it is stopped, in backoff, broken, installed or stopping. */
export interface Unavailable {
  name: string
  state: ManagedState
  nextRetryAt: string | null
}

/** The first bundle of `bundles` that owns `resource` (its query ignored) and is not serving; undefined if none. */
export function unavailableOf(bundles: Iterable<ManagedBundle>, resource: string): Unavailable | undefined {
  const path = resourceName(resource)
  for (const b of bundles) {
    if (SERVING.has(b.supervisor.state)) continue
    if (manifestPatterns(b.manifest).some((p) => overlaps(p, path))) {
      const info = b.info()
      return { name: info.name, state: info.state, nextRetryAt: info.nextRetryAt }
    }
  }
  return undefined
}
