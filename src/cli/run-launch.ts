/**
 * Which command `bundlegate run` starts for a bundle's `main`: Node with tsx for TypeScript, Node for JavaScript,
 * python3 for original Sanji bundles, with the broker environment the bundle gets.
 * @module
 */
import { existsSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import { bundlegateResolveArgs } from '../process/index.ts'
import type { Manifest } from '../sdk/manifest.ts'

/** File names tried, in order, when bundle.json has no `main`. */
const DEFAULT_MAINS = ['index.ts', 'index.js', 'index.mjs', 'index.py']

/** A resolved way to start the bundle. */
export interface Launch {
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
  cwd: string
  /** e.g. "node --import tsx index.ts". */
  label: string
  python: boolean
}

/** How to start `main`, or why it cannot be started. */
export function resolveLaunch(dir: string, manifest: Manifest, brokerUrl: string): Launch | string {
  let main = manifest.main
  if (main === undefined || main === '') {
    main = DEFAULT_MAINS.find((m) => existsSync(join(dir, m)))
    if (main === undefined)
      return `bundle.json has no "main" and ${dir} has none of ${DEFAULT_MAINS.join(', ')}`
  }
  const file = resolve(dir, main)
  if (!existsSync(file)) return `main file ${file} (from bundle.json) does not exist`
  const broker = brokerEnv(brokerUrl)
  if (typeof broker === 'string') return broker
  const env: NodeJS.ProcessEnv = { ...process.env, ...broker, BUNDLE_DIR: dir }
  // The bundle's `argument` (original manifests: "" or extra command-line words) goes after the file.
  const extra = (manifest.argument ?? '').split(/\s+/).filter((a) => a !== '')
  const ext = extname(file).toLowerCase()
  if (ext === '.ts' || ext === '.mts' || ext === '.cts') {
    const args = [
      '--import',
      import.meta.resolve('tsx'),
      ...bundlegateResolveArgs({ tsxLoaded: true }),
      file,
      ...extra,
    ]
    if (devCondition()) args.unshift('--conditions=bundlegate-dev')
    return {
      command: process.execPath,
      args,
      env,
      cwd: dir,
      label: `node --import tsx ${main}`,
      python: false,
    }
  }
  if (ext === '.js' || ext === '.mjs' || ext === '.cjs')
    return {
      command: process.execPath,
      args: [...bundlegateResolveArgs(), file, ...extra],
      env,
      cwd: dir,
      label: `node ${main}`,
      python: false,
    }
  if (ext === '.py') {
    const python = process.env.BUNDLEGATE_PYTHON || 'python3'
    return {
      command: python,
      args: [file, ...extra],
      env: { PYTHONUNBUFFERED: '1', ...env },
      cwd: dir,
      label: `${python} ${main}`,
      python: true,
    }
  }
  return `cannot run ${main}: main must be .ts, .mts, .js, .mjs or .py`
}

/**
 * Whether this CLI itself runs from the TypeScript sources (`--conditions=bundlegate-dev`): then the bundle gets
 * the condition too, so its `import 'bundlegate'` loads the same sources rather than a possibly stale `dist/`.
 */
function devCondition(): boolean {
  return process.execArgv.some((a) => a.includes('bundlegate-dev'))
}

/** BROKER_URL and the original stack's BROKER_PORT_1883_TCP_ADDR / _PORT derived from it. */
function brokerEnv(brokerUrl: string): Record<string, string> | string {
  let url: URL
  try {
    url = new URL(brokerUrl)
  } catch {
    return `the broker URL "${brokerUrl}" is not a URL (like mqtt://127.0.0.1:1883)`
  }
  const port = url.port || (url.protocol === 'mqtts:' ? '8883' : '1883')
  return {
    BROKER_URL: brokerUrl,
    BROKER_PORT_1883_TCP_ADDR: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    BROKER_PORT_1883_TCP_PORT: port,
  }
}
