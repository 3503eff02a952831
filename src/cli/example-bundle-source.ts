/**
 * Where `bundlegate start --example` installs the example bundle from: the package's `examples/example/` when the
 * gateway runs from its TypeScript sources, else a temp directory holding the compiled example
 * (`dist/examples/example/*.js`) with its `bundle.json` (main `index.js`) and factory data: no TypeScript loader
 * on the device.
 * @module
 */

import { existsSync } from 'node:fs'
import { copyFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The directory to install and a cleanup for it (a no-op for the sources). */
export async function exampleBundleSource(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const sources = fileURLToPath(new URL('../../examples/example/', import.meta.url))
  const compiled = fileURLToPath(new URL('../examples/example/', import.meta.url))
  const dev =
    process.execArgv.some((a) => a.includes('bundlegate-dev')) || !existsSync(join(compiled, 'index.js'))
  if (dev) return { dir: sources, cleanup: async () => {} }
  const dir = await mkdtemp(join(tmpdir(), 'bundlegate-example-'))
  try {
    for (const f of await readdir(compiled))
      if (f.endsWith('.js')) await copyFile(join(compiled, f), join(dir, f))
    const manifest = JSON.parse(await readFile(join(sources, 'bundle.json'), 'utf8')) as Record<
      string,
      unknown
    >
    await writeFile(join(dir, 'bundle.json'), JSON.stringify({ ...manifest, main: 'index.js' }, null, 2))
    await cp(join(sources, 'data'), join(dir, 'data'), {
      recursive: true,
      filter: (src) => !/\.json$|\.backup$/.test(src), // factory files only, never a developer's own data
    })
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
