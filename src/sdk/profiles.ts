/**
 * Registration profiles of a bundle, derived from its manifest as the Python Sanji SDK does it
 * (wire-protocol.md §4.2 and §4.5).
 * @module
 */

import { type JsonObject, routeToPattern } from '../protocol/index.ts'
import type { Manifest, ManifestRole } from './manifest.ts'
import { bodyMethods, type RouteSpec, routeSchemas } from './router.ts'

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

const PARAM = /:(\w+)/g
const ALL_METHODS = ['get', 'post', 'put', 'delete'] as const

/**
 * Both profiles, the bundle's own role first, empty ones included (flagged `empty: true`; the SDK logs
 * "<name>-view no need to register due to no resources" for them). Each call returns fresh, mutable objects.
 *
 * Besides the manifest, the registration data carries what the gateway's OpenAPI document is made of (controllers
 * ignore unknown keys, §4.2): `methods` (pattern → declared methods), `paramNames` (pattern → the names of its `+`
 * levels, from the manifest's `:params`) and `schemas` (pattern → method → `{ body?, response? }`, from `routes`).
 */
export function deriveAllProfiles(
  manifest: Manifest,
  routes: readonly RouteSpec[] = [],
): RegistrationProfile[] {
  const roles: ManifestRole[] = manifest.role === 'model' ? ['model', 'view'] : ['view', 'model']
  return roles.map((role) => {
    const patterns: string[] = []
    const methods: Record<string, string[]> = {}
    const paramNames: Record<string, string[]> = {}
    for (const entry of manifest.resources) {
      if ((entry.role ?? manifest.role) !== role) continue
      const pattern = routeToPattern(entry.resource)
      if (!patterns.includes(pattern)) patterns.push(pattern)
      if (entry.methods) methods[pattern] = [...new Set([...(methods[pattern] ?? []), ...entry.methods])]
      const names = [...entry.resource.matchAll(PARAM)].map((m) => m[1] as string)
      if (names.length > 0 && !paramNames[pattern]) paramNames[pattern] = names
    }
    const name = role === manifest.role ? manifest.name : `${manifest.name}-${role}`
    const data: JsonObject = { ...structuredClone(manifest.raw), name, role, resources: [...patterns] }
    // The declared methods per pattern: controllers ignore the key (§4.2); our gateway lists them (GET /api/v1/bundles).
    if (Object.keys(methods).length > 0) data.methods = methods
    if (role === 'model') {
      // only models answer requests, so only their paths are documented
      if (Object.keys(paramNames).length > 0) data.paramNames = paramNames
      const schemas = schemasOf(routes, patterns)
      if (Object.keys(schemas).length > 0) data.schemas = schemas
    }
    return { name, role, patterns, data, empty: patterns.length === 0 }
  })
}

/** pattern → method → `{ body?, response? }` of the routes that declare schemas, for registered patterns only. */
function schemasOf(routes: readonly RouteSpec[], patterns: readonly string[]): JsonObject {
  const out: Record<string, Record<string, JsonObject>> = {}
  for (const r of routes) {
    const { body, response } = routeSchemas(r.schema)
    if (!body && !response) continue
    const pattern = routeToPattern(r.resource)
    if (!patterns.includes(pattern)) continue
    const list =
      r.methods === undefined ? ALL_METHODS : typeof r.methods === 'string' ? [r.methods] : r.methods
    // the body schema only where the SDK checks it: a GET has no body
    const withBody = body ? bodyMethods(r) : new Set<string>()
    for (const m of list) {
      const method = String(m).toLowerCase()
      if (!response && !withBody.has(method)) continue
      const slot = out[pattern] ?? {}
      out[pattern] = slot
      const entry = slot[method] ?? {}
      slot[method] = entry
      // the first route that declares a schema for a pattern and method wins (routes run in declaration order)
      if (body && withBody.has(method) && entry.body === undefined)
        entry.body = structuredClone(body) as JsonObject
      if (response && entry.response === undefined) entry.response = structuredClone(response) as JsonObject
    }
  }
  return out as JsonObject
}

/** The profiles to register: {@link deriveAllProfiles} without the empty ones. */
export function deriveProfiles(manifest: Manifest, routes: readonly RouteSpec[] = []): RegistrationProfile[] {
  return deriveAllProfiles(manifest, routes).filter((p) => !p.empty)
}
