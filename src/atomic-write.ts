/**
 * Crash-safe file replacement: write a temp file next to the target, fsync it, rename it over the target, fsync
 * the directory. A process killed at any moment leaves either the old or the new complete file.
 * @module
 */

import { randomBytes } from 'node:crypto'
import { type FileHandle, open, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** File mode of the new file (exact, umask not applied). Default: the mode of the file it replaces, else 0o666 minus umask. */
  mode?: number
}

/** Errors of a directory fsync that only mean "this platform or file system does not do that". */
const DIR_SYNC_REFUSED = new Set([
  'EISDIR',
  'EINVAL',
  'EPERM',
  'EACCES',
  'EBADF',
  'ENOTSUP',
  'EOPNOTSUPP',
  'ENOSYS',
])

/**
 * Replaces `path` with `data` atomically. The temp file is `.<base>.<pid>.<random>.tmp` in the same directory and is
 * removed again when anything fails; the error is rethrown unchanged (a Node `ErrnoException`).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const mode = options.mode ?? (await existingMode(path))
  let handle: FileHandle | undefined
  try {
    handle = await open(tmp, 'wx', mode ?? 0o666)
    if (mode !== undefined) await handle.chmod(mode)
    await handle.writeFile(data)
    await handle.sync()
    await handle.close()
    handle = undefined
    await rename(tmp, path)
  } catch (err) {
    await handle?.close().catch(() => {})
    await rm(tmp, { force: true }).catch(() => {})
    throw err
  }
  await syncDirectory(dir)
}

/** Copies `src` over `dest` atomically (see {@link writeFileAtomic}); the copy gets the mode of `src`. */
export async function copyFileAtomic(src: string, dest: string): Promise<void> {
  const [data, info] = await Promise.all([readFile(src), stat(src)])
  await writeFileAtomic(dest, data, { mode: info.mode & 0o7777 })
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777
  } catch {
    return undefined
  }
}

/** Makes the rename durable. Platforms that cannot fsync a directory (Windows, some file systems) are tolerated. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch (err) {
    if (!DIR_SYNC_REFUSED.has((err as NodeJS.ErrnoException).code ?? '')) throw err
  } finally {
    await handle?.close().catch(() => {})
  }
}
