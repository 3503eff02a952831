/**
 * What an install must pass before anything is written or started (docs/manager.md "Installing"): its manifest
 * (every problem listed), its resources against the gateway's own paths and every other bundle's (the controller's
 * pattern match, both ways), its dependencies (installed, no cycle), and its version against the installed one.
 * @module
 */

import { createError, GatewayError } from '../errors.ts'
import { patternMatches, routeToPattern } from '../protocol/index.ts'
import { loadManifest, type Manifest } from '../sdk/manifest.ts'
import { CONTROLLER_PREFIX, GATEWAY_PREFIXES } from '../web/index.ts'

/** Patterns another party holds: a bundle (installed or registered) or the gateway itself. */
export interface Claim {
  owner: string
  patterns: readonly string[]
}

/**
 * The manifest of the bundle in `dir`.
 * @throws GW_ERR_MANAGER_MANIFEST (400) with every problem (`data.problems`), or the read error.
 */
export async function readInstallManifest(dir: string): Promise<Manifest> {
  try {
    return await loadManifest(dir)
  } catch (err) {
    if (
      err instanceof GatewayError &&
      (err.code === 'GW_ERR_MANIFEST_INVALID' || err.code === 'GW_ERR_MANIFEST_READ')
    )
      throw createError('GW_ERR_MANAGER_MANIFEST', [err.message], { cause: err, data: err.data })
    throw err
  }
}

/** The controller patterns of a manifest's resources (`:id` → `+`, §4.5). */
export function manifestPatterns(manifest: Manifest): string[] {
  return manifest.resources.map((r) => routeToPattern(r.resource))
}

/** Whether two controller patterns can match a common resource, as far as the matcher tells (both ways). */
export function overlaps(a: string, b: string): boolean {
  return a === b || patternMatches(a, b) || patternMatches(b, a)
}

/**
 * What an install of `name` must not overlap: the gateway's paths, every other installed bundle's manifest, every
 * registered component that is not the bundle's own (`<name>`, `<name>-view`, `<name>-model`), built-ins aside.
 */
export function claimsAgainst(
  name: string,
  installed: ReadonlyArray<{ name: string; manifest: Manifest }>,
  components: ReadonlyArray<{ name: string; builtin: boolean; patterns: readonly string[] }>,
): Claim[] {
  const claims = gatewayClaims()
  for (const b of installed)
    if (b.name !== name) claims.push({ owner: b.name, patterns: manifestPatterns(b.manifest) })
  const mine = (c: string) => c === name || c === `${name}-view` || c === `${name}-model`
  for (const c of components)
    if (!c.builtin && !mine(c.name)) claims.push({ owner: c.name, patterns: c.patterns })
  return claims
}

/** The gateway's own paths as claims: each prefix and what is below it. */
export function gatewayClaims(): Claim[] {
  const prefixes = [...GATEWAY_PREFIXES, CONTROLLER_PREFIX]
  return [{ owner: 'gateway', patterns: prefixes.flatMap((p) => [p, `${p}/#`]) }]
}

/**
 * @throws GW_ERR_MANAGER_CONFLICT (409) naming the first resource that overlaps another claim and its owner.
 */
export function checkResources(manifest: Manifest, claims: readonly Claim[]): void {
  for (const r of manifest.resources) {
    const mine = routeToPattern(r.resource)
    for (const claim of claims) {
      if (claim.owner === manifest.name) continue
      const theirs = claim.patterns.find((p) => overlaps(mine, p) || underPrefix(mine, p))
      if (theirs !== undefined)
        throw createError('GW_ERR_MANAGER_CONFLICT', [r.resource, manifest.name, claim.owner], {
          data: { resource: r.resource, owner: claim.owner, pattern: theirs },
        })
    }
  }
}

/** `/tokens/+` lies below the gateway's `/tokens/#` even though neither pattern matches the other as text. */
function underPrefix(mine: string, theirs: string): boolean {
  if (!theirs.endsWith('/#')) return false
  const prefix = theirs.slice(0, -2)
  return mine === prefix || mine.startsWith(`${prefix}/`)
}

/**
 * `dependencies` must name installed bundles (other than itself) and add no cycle to the installed graph.
 * @param installed name → its dependencies, for every installed bundle (the one being installed excluded).
 * @throws GW_ERR_MANAGER_DEPENDENCY (409).
 */
export function checkDependencies(
  name: string,
  deps: readonly string[],
  installed: ReadonlyMap<string, readonly string[]>,
): void {
  for (const d of deps) {
    if (d === name)
      throw createError('GW_ERR_MANAGER_DEPENDENCY', [name, 'it depends on itself'], {
        data: { cycle: [name, name] },
      })
    if (!installed.has(d))
      throw createError('GW_ERR_MANAGER_DEPENDENCY', [name, `its dependency '${d}' is not installed`], {
        data: { missing: d },
      })
  }
  const graph = new Map(installed)
  graph.set(name, deps)
  const cycle = findCycle(graph, name)
  if (cycle)
    throw createError('GW_ERR_MANAGER_DEPENDENCY', [name, `dependency cycle ${cycle.join(' -> ')}`], {
      data: { cycle },
    })
}

/** A path from `start` back to itself, if there is one. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>, start: string): string[] | undefined {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (n: string): string[] | undefined => {
    if (path.includes(n)) return n === start ? [...path, n] : undefined
    if (done.has(n)) return undefined
    path.push(n)
    for (const d of graph.get(n) ?? []) {
      const c = visit(d)
      if (c) return c
    }
    path.pop()
    done.add(n)
    return undefined
  }
  return visit(start)
}

/**
 * Every check of an install against the installed set and the registry (docs/manager.md "Installing"), in order:
 * version, resources, dependencies. Resolves nothing, writes nothing; returns the dependency names.
 */
export function checkInstall(
  manifest: Manifest,
  options: { allowDowngrade?: boolean },
  installed: ReadonlyArray<{
    name: string
    manifest: Manifest
    record: { current: { version: string }; dependencies: string[] }
  }>,
  components: ReadonlyArray<{ name: string; builtin: boolean; patterns: readonly string[] }>,
): string[] {
  const existing = installed.find((b) => b.name === manifest.name)
  const have = existing?.record.current.version
  if (have !== undefined && !options.allowDowngrade && compareVersions(manifest.version, have) < 0)
    throw createError('GW_ERR_MANAGER_DOWNGRADE', [manifest.name, manifest.version, have])
  checkResources(manifest, claimsAgainst(manifest.name, installed, components))
  const deps = dependencyNames(manifest)
  const graph = new Map(
    installed.filter((b) => b.name !== manifest.name).map((b) => [b.name, b.record.dependencies]),
  )
  checkDependencies(manifest.name, deps, graph)
  return deps
}

/** The dependency names of a manifest (the keys of `dependencies`, as Sanji's bundles wrote them). */
export function dependencyNames(manifest: Manifest): string[] {
  return Object.keys(manifest.dependencies).sort()
}

/**
 * Compares dotted versions part by part (numeric parts numerically, `1.10 > 1.9`); a pre-release suffix (`-rc1`)
 * sorts before the release.
 */
export function compareVersions(a: string, b: string): number {
  const [ma = '', pa] = splitPre(a)
  const [mb = '', pb] = splitPre(b)
  const xs = ma.split('.')
  const ys = mb.split('.')
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const c = comparePart(xs[i] ?? '0', ys[i] ?? '0')
    if (c !== 0) return c
  }
  if (pa === pb) return 0
  if (pa === undefined) return 1
  if (pb === undefined) return -1
  return pa < pb ? -1 : 1
}

function splitPre(v: string): [string, string | undefined] {
  const i = v.indexOf('-')
  return i === -1 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)]
}

function comparePart(x: string, y: string): number {
  const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN
  const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN
  if (!Number.isNaN(nx) && !Number.isNaN(ny)) return Math.sign(nx - ny)
  return x === y ? 0 : x < y ? -1 : 1
}

/**
 * The order bundles start in: a bundle after its dependencies, and among those ready the lowest `priority` first
 * (then by name). Dependencies that are not in `bundles` are ignored here (the install refused them).
 */
export function startOrder(
  bundles: ReadonlyArray<{ name: string; priority: number; dependencies: readonly string[] }>,
): string[] {
  const byName = new Map(bundles.map((b) => [b.name, b]))
  const placed = new Set<string>()
  const out: string[] = []
  while (out.length < bundles.length) {
    const ready = bundles
      .filter((b) => !placed.has(b.name) && b.dependencies.every((d) => placed.has(d) || !byName.has(d)))
      .sort((x, y) => x.priority - y.priority || (x.name < y.name ? -1 : 1))
    // a cycle (only from a hand-edited record) must not hang the start: take the lowest priority left
    const next =
      ready[0] ??
      bundles
        .filter((b) => !placed.has(b.name))
        .sort((x, y) => x.priority - y.priority || (x.name < y.name ? -1 : 1))[0]
    if (!next) break
    placed.add(next.name)
    out.push(next.name)
  }
  return out
}
