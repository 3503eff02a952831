/**
 * Child process of the install crash test (test/manager/install-crash.test.ts): installs versions 1, 2, 3, … of the
 * bundle `crashy` into `<dataDir>` in a loop, each a directory of {@link CRASH_FILES} files whose content names the
 * version, through the manager's own staging + rename + record (placeBundle), printing each version once its
 * record is written, until killed.
 *
 * Usage: node --conditions=bundlegate-dev --import tsx test/helpers/install-crasher.ts <dataDir> <sourceParent>
 * @module
 */

import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ManagerStore } from '../../src/manager/manager-store.ts'
import { placeBundle } from '../../src/manager/place-bundle.ts'

/** Files per version. */
export const CRASH_FILES = 200

/** The content of file `i` of `version`. */
export function crashContent(version: string, i: number): string {
  return `${version}:${i}:`.padEnd(2000, 'x')
}

async function writeSource(parent: string, version: string): Promise<string> {
  const dir = join(parent, version)
  await mkdir(join(dir, 'lib'), { recursive: true })
  await writeFile(join(dir, 'bundle.json'), JSON.stringify({ name: 'crashy', version }))
  for (let i = 0; i < CRASH_FILES; i++)
    await writeFile(join(dir, 'lib', `f${i}.txt`), crashContent(version, i))
  return dir
}

async function main(dataDir: string, parent: string): Promise<void> {
  const store = await ManagerStore.open(dataDir)
  let n = Number.parseInt(store.get('crashy')?.current.version ?? '0', 10)
  for (;;) {
    n++
    const version = `${n}.0.0`
    const dir = await writeSource(parent, version)
    await placeBundle(
      store,
      dataDir,
      dir,
      { name: 'crashy', version, priority: 0, dependencies: [] },
      store.get('crashy'),
    )
    process.stdout.write(`${version}\n`)
  }
}

const [dataDir, parent] = process.argv.slice(2)
if (dataDir && parent) await main(dataDir, parent)
