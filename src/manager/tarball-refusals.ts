/**
 * What the unpacker says when it refuses a tarball or one of its entries (docs/security.md "Bundle tarballs"): the
 * path checks and the error of each kind of refusal, with the entry named.
 * @module
 */
import { createError, GatewayError } from '../errors.ts'

/** File-system errors that are the gateway's fault (full disk…), not the tarball's. */
const WRITE_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EIO', 'EMFILE', 'ENFILE'])

/** Why a tar path may not be unpacked, or undefined when it may. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'an empty path'
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'a control character in its path'
  if (path.includes('\\')) return 'a backslash in its path'
  if (path.startsWith('/')) return 'an absolute path'
  if (/^[A-Za-z]:/.test(path)) return 'a drive-letter path'
  if (path.split('/').includes('..')) return "a '..' segment in its path"
  return undefined
}

export function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.')
}

export function typeName(type: string): string {
  const names: Record<string, string> = {
    CharacterDevice: 'character device',
    BlockDevice: 'block device',
    FIFO: 'FIFO',
    SparseFile: 'sparse file',
    GNUDumpDir: 'GNU dump directory',
    MultiVolume: 'multi-volume part',
  }
  return names[type] ?? `entry of type ${type}`
}

export function quote(s: string | undefined): string {
  return JSON.stringify((s ?? '').slice(0, 200))
}

export function refuse(path: string, reason: string): GatewayError {
  return createError('GW_ERR_MANAGER_TARBALL_ENTRY', [quote(path), `it is ${reason}`], {
    data: { entry: path },
  })
}

export function unpackedTooLarge(max: number, path: string): GatewayError {
  return createError(
    'GW_ERR_MANAGER_TARBALL_TOO_LARGE',
    [`its files unpack past ${max} bytes at ${quote(path)}`],
    {
      data: { entry: path },
    },
  )
}

/** A file-system error on an entry: the tarball's fault (EEXIST, ENOTDIR…) or the gateway's (disk full…). */
export function entryError(err: unknown, path: string): unknown {
  if (err instanceof GatewayError) return err
  const code = (err as NodeJS.ErrnoException).code ?? ''
  if (WRITE_ERRNOS.has(code)) return err
  const why = code === 'EEXIST' ? 'a duplicate of an earlier entry' : `not placeable (${errorText(err)})`
  return createError('GW_ERR_MANAGER_TARBALL_ENTRY', [quote(path), `it is ${why}`], {
    cause: err,
    data: { entry: path },
  })
}

export function toGatewayError(err: unknown, dir: string): GatewayError {
  if (err instanceof GatewayError) return err
  return createError('GW_ERR_MANAGER_TARBALL_WRITE', [dir, errorText(err)], { cause: err })
}

export function tarError(err: Error): GatewayError {
  const tarCode = (err as { tarCode?: string }).tarCode
  const entry = (err as { entry?: { path?: string } }).entry?.path
  const text = err.message.replace(/^TAR_[A-Z_]+: /, '')
  const where = entry ? ` (entry ${quote(entry)})` : ''
  return createError('GW_ERR_MANAGER_TARBALL_FORMAT', [`not a valid tar: ${text}${where}`], {
    cause: err,
    data: { tarCode },
  })
}

export function gzipText(err: Error): string {
  return err.message === 'unexpected end of file'
    ? 'the gzip stream is truncated'
    : `bad gzip: ${err.message}`
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
