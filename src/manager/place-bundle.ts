/**
 * Putting a checked bundle in place (docs/manager.md "Layout"): copy into `bundles/.staging/`, link its `data/` to
 * the bundle's own data directory (`bundle-data/<name>/`, kept across upgrades and reinstalls), rename the staged
 * directory into `bundles/<name>/<version>/`, and only then write the record. A kill -9 before the record leaves
 * the old bundle installed (the renamed directory is swept at the next open); after it, the new one.
 * @module
 */

import { randomBytes } from 'node:crypto'
import { cp, lstat, mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type BundleRecord, LAYOUT, type ManagerStore, type VersionRecord } from './manager-store.ts'

/** What the record of the new version gets besides its directory. */
export interface Placement {
  name: string
  version: string
  priority: number
  dependencies: string[]
}

/** The gateway's own package root (this file is `src/manager/` or `dist/manager/` in it). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * `import 'bundlegate'` from the bundle finds the gateway's own package: a link `node_modules/bundlegate` to it,
 * unless the bundle brought its own. A link instead of a resolve hook: no loader thread in the bundle's process.
 */
async function linkOwnPackage(dir: string): Promise<void> {
  const modules = join(dir, 'node_modules')
  const target = join(modules, 'bundlegate')
  if (
    await lstat(target).then(
      () => true,
      () => false,
    )
  )
    return
  await mkdir(modules, { recursive: true })
  await symlink(PACKAGE_ROOT, target, 'dir')
}

/** `<data.dir>/bundle-data/<name>`. */
export function bundleDataDir(dataDir: string, name: string): string {
  return join(dataDir, LAYOUT.data, name)
}

/**
 * Copies `sourceDir` into place as the current version of `p.name` and records it; the version it replaces
 * becomes the previous one (a reinstall of the same version keeps the previous one as it was). Resolves with the
 * new record once it is on disk; the directory of a version no longer recorded is removed afterwards.
 */
export async function placeBundle(
  store: ManagerStore,
  dataDir: string,
  sourceDir: string,
  p: Placement,
  existing: BundleRecord | undefined,
): Promise<BundleRecord> {
  const staging = join(store.bundlesDir, LAYOUT.staging, `${p.name}-${randomBytes(6).toString('hex')}`)
  let dir: string
  try {
    await cp(sourceDir, staging, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !src.endsWith(`${'/'}.git`),
    })
    await linkData(staging, bundleDataDir(dataDir, p.name))
    // Out of its repository a bundle loses the package.json it inherited there: without one of its own its
    // JavaScript and TypeScript are ES modules (the SDK is one; the examples use top-level await).
    await writeFile(join(staging, 'package.json'), '{ "type": "module", "private": true }\n', {
      flag: 'wx',
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err
    })
    await linkOwnPackage(staging)
    const parent = join(store.bundlesDir, p.name)
    await mkdir(parent, { recursive: true, mode: 0o700 })
    dir = await freeDirName(parent, p.version)
    await rename(staging, join(parent, dir))
  } catch (err) {
    await rm(staging, { recursive: true, force: true })
    throw err
  }
  const current: VersionRecord = { version: p.version, dir }
  const sameVersion = existing?.current.version === p.version
  const previous = existing ? (sameVersion ? existing.previous : existing.current) : null
  const record: BundleRecord = {
    name: p.name,
    current,
    previous,
    enabled: existing?.enabled ?? true,
    priority: p.priority,
    dependencies: p.dependencies,
    memoryLimitMb: existing?.memoryLimitMb ?? null,
    tokenId: existing?.tokenId ?? null,
    credentialId: existing?.credentialId ?? null,
    probation: previous !== null && !sameVersion,
    installedAt: new Date().toISOString(),
  }
  await store.put(record)
  store.sweep() // the replaced directories
  return record
}

/** `<version>` (made file-name safe), or `<version>~<random>` when that is taken (a reinstall). */
async function freeDirName(parent: string, version: string): Promise<string> {
  const base = version.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\.+/, '_') || '_'
  let name = base
  const taken = new Set(await readdir(parent))
  while (taken.has(name)) name = `${base}~${randomBytes(3).toString('hex')}`
  return name
}

/**
 * Moves the bundle's shipped `data/` into its data directory (files it does not have yet; `*.factory` files, which
 * belong to the version, always) and replaces it with a link there.
 */
async function linkData(staging: string, dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const shipped = join(staging, 'data')
  const st = await lstat(shipped).catch(() => undefined)
  if (st?.isDirectory()) {
    const have = new Set(await readdir(dataDir))
    for (const f of await readdir(shipped)) {
      if (have.has(f) && !f.endsWith('.factory')) continue
      await cp(join(shipped, f), join(dataDir, f), { recursive: true, force: true, verbatimSymlinks: true })
    }
  }
  await rm(shipped, { recursive: true, force: true })
  await symlink(dataDir, shipped, 'dir')
}

/** Removes the code of `name` (every version); with `purge` also its data directory and log files. */
export async function removeBundleFiles(
  store: ManagerStore,
  dataDir: string,
  name: string,
  purge: boolean,
): Promise<void> {
  await rm(join(store.bundlesDir, name), { recursive: true, force: true })
  if (!purge) return
  await rm(bundleDataDir(dataDir, name), { recursive: true, force: true })
  const logs = join(dataDir, LAYOUT.logs)
  for (const f of await readdir(logs).catch(() => []))
    if (f === `${name}.log` || f.startsWith(`${name}.log.`)) await rm(join(logs, f), { force: true })
}
