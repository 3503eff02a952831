/**
 * How a managed bundle is started, from its `main` (docs/manager.md "Environment of a bundle"): TypeScript through
 * tsx, JavaScript with Node, Python with python3 (`BUNDLEGATE_PYTHON`), anything else as an executable. Node
 * bundles get the `bundlegate` resolve hook (they import the gateway's own package) and, with a memory limit, a
 * matching `--max-old-space-size`.
 * @module
 */

import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { extname, join, relative, resolve, sep } from 'node:path'
import { createError } from '../errors.ts'
import { bundlegateResolveArgs } from '../process/index.ts'
import type { Manifest } from '../sdk/manifest.ts'

/** File names tried, in order, when bundle.json has no `main` (as `bundlegate run`). */
const DEFAULT_MAINS = ['index.ts', 'index.js', 'index.mjs', 'index.py']

/** A resolved command line. */
export interface LaunchPlan {
  command: string
  args: string[]
  kind: 'node' | 'python' | 'executable'
  /** The main file, relative to the code directory. */
  main: string
}

/** Whether this gateway runs from its TypeScript sources (then Node bundles get the `bundlegate-dev` condition). */
function devCondition(): boolean {
  return process.execArgv.some((a) => a.includes('bundlegate-dev'))
}

/**
 * The command line of the bundle in `codeDir`.
 * @throws GW_ERR_MANAGER_MAIN when `main` is missing, outside the directory, or of no kind that can be started.
 */
export function launchPlan(codeDir: string, manifest: Manifest, memoryLimitMb: number | null): LaunchPlan {
  const fail = (why: string) => createError('GW_ERR_MANAGER_MAIN', [manifest.name, why])
  let main = manifest.main
  if (main === undefined || main === '') {
    main = DEFAULT_MAINS.find((m) => existsSync(join(codeDir, m)))
    if (main === undefined)
      throw fail(`bundle.json has no "main" and there is none of ${DEFAULT_MAINS.join(', ')}`)
  }
  const file = resolve(codeDir, main)
  const rel = relative(codeDir, file)
  if (rel.startsWith(`..${sep}`) || rel === '..') throw fail(`main ${main} lies outside the bundle`)
  if (!existsSync(file) || !statSync(file).isFile()) throw fail(`main file ${main} does not exist`)
  const extra = (manifest.argument ?? '').split(/\s+/).filter((a) => a !== '')
  const ext = extname(file).toLowerCase()
  const heap = memoryLimitMb ? [`--max-old-space-size=${memoryLimitMb}`] : []
  const dev = devCondition() ? ['--conditions=bundlegate-dev'] : []
  // the manager links the gateway's package into the bundle (place-bundle.ts); older installs use the hook
  const linked = existsSync(join(codeDir, 'node_modules', 'bundlegate', 'package.json'))
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    const args = [
      ...dev,
      ...heap,
      '--import',
      import.meta.resolve('tsx'),
      ...bundlegateResolveArgs({ tsxLoaded: true, linked }),
    ]
    return { command: process.execPath, args: [...args, file, ...extra], kind: 'node', main: rel }
  }
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs')
    return {
      command: process.execPath,
      args: [...dev, ...heap, ...bundlegateResolveArgs({ linked }), file, ...extra],
      kind: 'node',
      main: rel,
    }
  if (ext === '.py') {
    const python = process.env.BUNDLEGATE_PYTHON || 'python3'
    return { command: python, args: [file, ...extra], kind: 'python', main: rel }
  }
  try {
    accessSync(file, constants.X_OK)
  } catch {
    throw fail(`main ${main} is not .ts, .js or .py and not executable`)
  }
  return { command: file, args: extra, kind: 'executable', main: rel }
}
