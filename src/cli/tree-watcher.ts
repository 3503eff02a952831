/**
 * The file watching of `bundlegate run --watch`: which changes in a bundle directory restart the bundle.
 * @module
 */
import { type Dirent, type FSWatcher, watch } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'

/** Changes closer together than this restart the bundle once. */
const DEBOUNCE_MS = 200

/** Whether a path (relative to the bundle directory) is outside what `--watch` looks at. */
function ignored(rel: string): boolean {
  const parts = rel.split(sep)
  if (parts[0] === 'data') return true // the bundle's own state: writing it must not restart it
  return parts.some(
    (p) =>
      p.startsWith('.') ||
      p === 'node_modules' ||
      p === '__pycache__' ||
      p.endsWith('~') ||
      p.endsWith('.pyc'),
  )
}

/**
 * Watches a directory tree with one non-recursive fs.watch per directory (recursive watching is not available on
 * Linux in Node 20). Directories that appear are watched from the next change on; symbolic links are not followed.
 * Changes are reported in batches, {@link DEBOUNCE_MS} after the last one.
 */
export class TreeWatcher {
  readonly #root: string
  readonly #onChange: (files: string[]) => void
  readonly #watchers = new Map<string, FSWatcher>()
  #pending: string[] = []
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(root: string, onChange: (files: string[]) => void) {
    this.#root = root
    this.#onChange = onChange
  }

  async start(): Promise<void> {
    await this.#scan()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    for (const w of this.#watchers.values()) w.close()
    this.#watchers.clear()
  }

  async #scan(): Promise<void> {
    const found = new Set<string>()
    const walk = async (dir: string): Promise<void> => {
      found.add(dir)
      let entries: Dirent[]
      try {
        entries = await readdir(dir, { withFileTypes: true })
      } catch {
        return // vanished meanwhile
      }
      for (const e of entries) {
        const path = join(dir, e.name)
        if (e.isDirectory() && !ignored(relative(this.#root, path))) await walk(path)
      }
    }
    await walk(this.#root)
    if (this.#closed) return
    for (const [dir, w] of this.#watchers) {
      if (!found.has(dir)) {
        w.close()
        this.#watchers.delete(dir)
      }
    }
    for (const dir of found) if (!this.#watchers.has(dir)) this.#watch(dir)
  }

  #watch(dir: string): void {
    let w: FSWatcher
    try {
      w = watch(dir, (_event, name) => {
        const rel = relative(this.#root, name ? join(dir, name.toString()) : dir)
        if (rel === '' || ignored(rel)) return
        this.#pending.push(rel)
        clearTimeout(this.#timer)
        this.#timer = setTimeout(() => void this.#flush(), DEBOUNCE_MS)
      })
    } catch {
      return // vanished meanwhile
    }
    w.on('error', () => {
      w.close()
      this.#watchers.delete(dir)
    })
    this.#watchers.set(dir, w)
  }

  async #flush(): Promise<void> {
    const files = [...new Set(this.#pending)]
    this.#pending = []
    await this.#scan() // new directories, removed ones
    if (!this.#closed && files.length > 0) this.#onChange(files)
  }
}
