/**
 * A small, private tmpfs for disk-full and read-only tests: mounted on a fresh temp directory, filled to the last
 * byte on demand, remounted read-only, unmounted at the end. Needs `mount` (root with CAP_SYS_ADMIN, as in our CI
 * containers); where the kernel refuses, {@link mountSmallFs} says why and the tests that need it skip with that
 * reason (or fail when BUNDLEGATE_REQUIRE_TMPFS=1). There is no emulation: a skipped test proves nothing, and says so.
 * @module
 */

import { execFile } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { mkdtemp, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A mounted tmpfs of a fixed size. */
export interface SmallFs {
  /** The mount point (empty at first). */
  readonly dir: string
  /** Writes a filler file until the file system answers ENOSPC; returns the bytes it took. */
  fill(): number
  /** Removes the filler: space is back. */
  free(): Promise<void>
  /** `mount -o remount,ro`; rejects (EBUSY) while some process holds a file of it open for writing. */
  readOnly(): Promise<void>
  /** `mount -o remount,rw`. */
  writable(): Promise<void>
  /** Unmounts (lazily, if something still holds it) and removes the mount point. Idempotent. */
  close(): Promise<void>
}

const FILLER = '.filler'

/** Mounts a tmpfs of `bytes` (rounded up to pages by the kernel); `{ unavailable }` names why it cannot. */
export async function mountSmallFs(bytes: number): Promise<SmallFs | { unavailable: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-smallfs-'))
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'bundlegate-test', dir])
  } catch (err) {
    await rmdir(dir).catch(() => {})
    const e = err as { stderr?: string; message: string }
    return { unavailable: `cannot mount a tmpfs: ${(e.stderr || e.message).trim()}` }
  }
  let closed: Promise<void> | undefined
  return {
    dir,
    fill() {
      const fd = openSync(join(dir, FILLER), 'a')
      let total = 0
      try {
        // big chunks first, then single bytes: the last partly used page is filled too
        for (const size of [65_536, 4096, 1]) {
          const chunk = Buffer.alloc(size, 0x5a)
          try {
            for (;;) total += writeSync(fd, chunk)
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
          }
        }
      } finally {
        closeSync(fd)
      }
      return total
    },
    async free() {
      await rm(join(dir, FILLER), { force: true })
    },
    async readOnly() {
      await run('mount', ['-o', 'remount,ro', dir])
    },
    async writable() {
      await run('mount', ['-o', 'remount,rw', dir])
    },
    close() {
      closed ??= (async () => {
        try {
          await run('umount', [dir])
        } catch {
          await run('umount', ['-l', dir]).catch(() => {})
        }
        await rmdir(dir).catch(() => {})
      })()
      return closed
    },
  }
}

/** The tmpfs, or `undefined` after skipping the test (failing it when BUNDLEGATE_REQUIRE_TMPFS=1). */
export async function smallFsOrSkip(
  t: { skip: (message: string) => void },
  bytes: number,
): Promise<SmallFs | undefined> {
  const fs = await mountSmallFs(bytes)
  if ('unavailable' in fs) {
    if (process.env.BUNDLEGATE_REQUIRE_TMPFS === '1') throw new Error(fs.unavailable)
    t.skip(`${fs.unavailable} (disk-full and read-only faults need a real file system to fill)`)
    return undefined
  }
  return fs
}
