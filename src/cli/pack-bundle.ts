import { readdir } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { create } from 'tar'

/** Whether a path of a bundle directory is packed: no dotfiles, no `node_modules`, at any level. */
export function packed(path: string): boolean {
  return !path
    .split(/[\\/]/)
    .some((part) => part === 'node_modules' || (part.startsWith('.') && part !== '.' && part !== '..'))
}

/**
 * A bundle directory as a gzip'ed tar stream, made on the fly (nothing is written to disk): its entries at the top
 * of the archive (`bundle.json`, `src/…`), `node_modules` and dotfiles left out, owners and modes made portable.
 */
export async function packBundle(dir: string): Promise<Readable> {
  const entries = (await readdir(dir)).filter(packed).sort()
  const pack = create(
    { gzip: true, cwd: dir, portable: true, filter: (path: string) => packed(path) },
    entries,
  )
  return Readable.from(pack as AsyncIterable<Buffer>)
}
