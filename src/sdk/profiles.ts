/**
 * Registration profiles of a bundle, derived from its manifest as the Python Sanji SDK does it
 * (wire-protocol.md §4.2 and §4.5).
 * @module
 */

import { type JsonObject, routeToPattern } from '../protocol/index.ts'
import type { Manifest, ManifestRole } from './manifest.ts'

/** What a bundle registers for one role: the `data` of `POST /controller/registration`. */
export interface RegistrationProfile {
  /** `<name>` for the bundle's own role, `<name>-<role>` for the other one. */
  name: string
  role: ManifestRole
  /** Controller patterns (`:param` → `+`), de-duplicated, in manifest order. */
  patterns: string[]
  /** The whole raw manifest with `name`, `role` and `resources` (= `patterns`) rewritten; the SDK adds `tunnel`. */
  data: JsonObject
  /** True when no resource has this role: such a profile is not registered. */
  empty: boolean
}

/**
 * Both profiles, the bundle's own role first, empty ones included (flagged `empty: true`; the SDK logs
 * "<name>-view no need to register due to no resources" for them). Each call returns fresh, mutable objects.
 */
export function deriveAllProfiles(manifest: Manifest): RegistrationProfile[] {
  const roles: ManifestRole[] = manifest.role === 'model' ? ['model', 'view'] : ['view', 'model']
  return roles.map((role) => {
    const patterns: string[] = []
    const methods: Record<string, string[]> = {}
    for (const entry of manifest.resources) {
      if ((entry.role ?? manifest.role) !== role) continue
      const pattern = routeToPattern(entry.resource)
      if (!patterns.includes(pattern)) patterns.push(pattern)
      if (entry.methods) methods[pattern] = [...new Set([...(methods[pattern] ?? []), ...entry.methods])]
    }
    const name = role === manifest.role ? manifest.name : `${manifest.name}-${role}`
    const data: JsonObject = { ...structuredClone(manifest.raw), name, role, resources: [...patterns] }
    // The declared methods per pattern: controllers ignore the key (§4.2); our gateway lists them (GET /api/v1/bundles).
    if (Object.keys(methods).length > 0) data.methods = methods
    return { name, role, patterns, data, empty: patterns.length === 0 }
  })
}

/** The profiles to register: {@link deriveAllProfiles} without the empty ones. */
export function deriveProfiles(manifest: Manifest): RegistrationProfile[] {
  return deriveAllProfiles(manifest).filter((p) => !p.empty)
}
