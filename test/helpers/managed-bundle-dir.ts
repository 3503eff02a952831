import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** What a test bundle for the bundle manager does. */
export interface TestBundleOptions {
  name: string
  /** Its one resource. @default `/<name>` */
  resource?: string
  version?: string
  /**
   * `serve`: registers and answers; `exit`: prints a line on stderr and exits with code 3 at once; `flood`: serves,
   * and once registered prints 50 lines of 8000 characters every 50 ms.
   */
  mode?: 'serve' | 'exit' | 'flood'
  priority?: number
}

/**
 * Writes a JavaScript bundle directory under `parent` (returns it) that the bundle manager can install: it imports
 * the gateway's own `bundlegate` package (no node_modules of its own), prints a line at start, and answers
 * `GET <resource>` with its name, version, pid and `MX_API_TOKEN` (the token the manager gave it: tests check its
 * revocation), printing `served <n>` for each request.
 */
export async function writeTestBundle(parent: string, o: TestBundleOptions): Promise<string> {
  const dir = join(parent, `${o.name}-${o.version ?? '1.0.0'}-${o.mode ?? 'serve'}`)
  await mkdir(dir, { recursive: true })
  const resource = o.resource ?? `/${o.name}`
  const manifest = {
    name: o.name,
    version: o.version ?? '1.0.0',
    description: `test bundle ${o.name}`,
    main: 'index.mjs',
    priority: o.priority ?? 50,
    role: 'model',
    ttl: 5,
    resources: [{ resource, methods: ['get'] }],
  }
  await writeFile(join(dir, 'bundle.json'), `${JSON.stringify(manifest, null, 2)}\n`)
  const main =
    o.mode === 'exit'
      ? `console.error('${o.name}: failing at once')\nprocess.exit(3)\n`
      : `import { createBundle } from 'bundlegate'

let served = 0
const bundle = createBundle({ dir: import.meta.dirname })
bundle.get(${JSON.stringify(resource)}, () => {
  served++
  console.log('served ' + served)
  return { name: ${JSON.stringify(o.name)}, version: ${JSON.stringify(manifest.version)}, pid: process.pid, token: process.env.MX_API_TOKEN ?? null }
})
console.log(${JSON.stringify(`${o.name} starting`)})
await bundle.start()
${o.mode === 'flood' ? "const big = 'x'.repeat(8000)\nsetInterval(() => { for (let i = 0; i < 50; i++) console.log(big) }, 50)\n" : ''}`
  await writeFile(join(dir, 'index.mjs'), main)
  return dir
}
