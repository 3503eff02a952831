import { copyFile, mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT'
}

/**
 * Copies what a bundle needs to start from its shipped state into `into`: `bundle.json` and the factory files
 * `data/*.factory`, never the current data files (`data/<name>.json`, backups). A test then starts from the
 * factory data every time and never changes the files in the bundle's own directory.
 */
export async function copyBundleDir(dir: string, into: string): Promise<void> {
  await mkdir(join(into, 'data'), { recursive: true })
  try {
    await copyFile(join(dir, 'bundle.json'), join(into, 'bundle.json'))
  } catch (err) {
    if (!missing(err)) throw err // a bundle may take its manifest as an option
  }
  let names: string[] = []
  try {
    names = await readdir(join(dir, 'data'))
  } catch (err) {
    if (!missing(err)) throw err
  }
  for (const name of names) {
    if (name.endsWith('.factory')) await copyFile(join(dir, 'data', name), join(into, 'data', name))
  }
}
