/**
 * A managed bundle finds `import 'bundlegate'` through a link to the gateway's own package that the manager places
 * in its installed copy (`node_modules/bundlegate`), not through the resolve hook, whose loader thread costs each
 * bundle process about 13 MiB (docs/manager.md "Layout").
 */
import assert from 'node:assert/strict'
import { readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { bundleParent, getJson, writeBundle } from '../helpers/managed-bundles.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

test('the installed copy links node_modules/bundlegate to the gateway, and the process loads no resolve hook', async (t) => {
  const defer = lifo(t)
  const src = await bundleParent()
  defer(() => src.cleanup())
  const gw = await startTestGateway()
  defer(() => gw.close())
  const dir = await writeBundle(src.dir, { name: 'linked' })
  const info = await gw.manager.installDirectory(dir)
  assert.equal(info.state, 'running', info.message)
  assert.equal((await getJson(gw, '/linked')).status, 200)
  const versions = join(gw.dataDir, 'bundles', 'linked')
  const { readdir } = await import('node:fs/promises')
  const [versionDir] = (await readdir(versions)).filter((d) => !d.startsWith('.'))
  const link = await readlink(join(versions, versionDir as string, 'node_modules', 'bundlegate'))
  assert.equal(join(link, 'package.json'), join(REPO_ROOT, 'package.json'))
  const cmdline = (await readFile(`/proc/${info.pid}/cmdline`, 'utf8')).split('\0')
  assert.ok(!cmdline.some((a) => a.includes('bundlegate-resolve')), cmdline.join(' '))
})
