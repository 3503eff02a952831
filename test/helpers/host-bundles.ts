/** Bundles for the shared-host tests: plain JavaScript on the compiled SDK, with routes that misbehave on request. */

import assert from 'node:assert/strict'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { REPO_ROOT } from './processes.ts'

const SDK = pathToFileURL(join(REPO_ROOT, 'dist/index.js')).href

/** A JavaScript bundle `name` with routes that misbehave on request, in a temp dir. */
export async function hostBundleDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `bg-host-${name}-`))
  const manifest = {
    name,
    version: '0.0.1',
    description: `${name}: a bundle of the shared-host test`,
    main: 'index.mjs',
    role: 'model',
    ttl: 5,
    resources: [{ methods: ['get'], resource: `/${name}/+` }],
  }
  await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest))
  await writeFile(
    join(dir, 'index.mjs'),
    `import { threadId } from 'node:worker_threads'
import { createBundle } from '${SDK}'
const bundle = createBundle({ dir: process.env.BUNDLE_DIR })
const later = (fn) => { setTimeout(fn, 20); return { ok: true } }
bundle.get('/${name}/who', () => ({ name: '${name}', threadId, pid: process.pid }))
bundle.get('/${name}/exit', () => later(() => process.exit(3)))
bundle.get('/${name}/throw', () => later(() => { throw new Error('boom in ${name}') }))
bundle.get('/${name}/loop', () => later(() => { for (;;) {} }))
bundle.get('/${name}/oom', () => later(() => { const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length)) }))
await bundle.start()
`,
  )
  return dir
}

/** The first 200 answer for `resource` (the bundle may still be registering). */
export async function answered(
  get: (r: string) => Promise<{ code?: unknown; data?: unknown }>,
  resource: string,
): Promise<{ code?: unknown; data?: unknown }> {
  let m = await get(resource)
  for (let i = 0; i < 200 && m.code !== 200; i++) {
    await new Promise((r) => setTimeout(r, 50))
    m = await get(resource)
  }
  assert.equal(m.code, 200, `${resource}: ${JSON.stringify(m)}`)
  return m
}
