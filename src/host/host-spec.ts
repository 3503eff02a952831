import { existsSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import { createError } from '../errors.ts'
import { loadManifest } from '../sdk/index.ts'
import type { HostedBundleSpec } from './hosted-bundle.ts'

/** Entry points the shared host can run: JavaScript (a TypeScript bundle runs there from its compiled output). */
const JS = new Set(['.js', '.mjs', '.cjs'])
const DEFAULT_MAINS = ['index.js', 'index.mjs']

/**
 * The host's spec for the bundle in `dir`: its manifest checked (every problem listed), its JavaScript `main`
 * (`main` of bundle.json, or `--main`), `BUNDLE_DIR` and the broker's address in its environment.
 */
export async function hostSpecFromDir(
  dir: string,
  env: Record<string, string>,
  mainOverride?: string,
): Promise<HostedBundleSpec> {
  const root = resolve(dir)
  const manifest = await loadManifest(root)
  const main = mainOverride
    ? resolve(mainOverride)
    : manifest.main
      ? resolve(root, manifest.main)
      : DEFAULT_MAINS.map((m) => join(root, m)).find((m) => existsSync(m))
  if (main === undefined || !existsSync(main))
    throw createError('GW_ERR_HOST_MAIN', [
      manifest.name,
      main ?? `${root}/index.js`,
      'the file does not exist',
    ])
  if (!JS.has(extname(main)))
    throw createError('GW_ERR_HOST_MAIN', [
      manifest.name,
      main,
      'the shared host runs JavaScript (.js, .mjs, .cjs): compile the bundle and point main at the output, or run it as a process with `bundlegate run`',
    ])
  return { name: manifest.name, main, env: { ...env, BUNDLE_DIR: root } }
}
