import { randomBytes } from 'node:crypto'

/** What the file service keeps beside each stored file (`<id>.json`). */
export interface FileMeta {
  /** 32 lower-case hex characters (128 random bits). */
  id: string
  /** The original file name, checked by {@link fileNameProblem}. */
  name: string
  size: number
  /** The media type the uploader gave (`application/octet-stream` when none). */
  type: string
  /** SHA-256 of the content, lower-case hex; also the download's ETag. */
  sha256: string
  createdAt: string
  /** When the sweep removes the file; null: kept (referenced) until deleted. */
  expiresAt: string | null
}

const ID = /^[0-9a-f]{32}$/

/** A fresh file id. */
export function newFileId(): string {
  return randomBytes(16).toString('hex')
}

/** Whether `id` has the shape of a file id (checked before any path is built from it). */
export function isFileId(id: string): boolean {
  return ID.test(id)
}

/** Longest accepted file name, in UTF-8 bytes (the common file-system limit). */
export const MAX_FILE_NAME_BYTES = 255

/**
 * Why a file name is refused, or undefined when it is fine: empty, over 255 bytes, a path (`/`, `\`, `.`, `..`),
 * or containing NUL or another control character (which would also break the Content-Disposition header).
 */
export function fileNameProblem(name: string): string | undefined {
  if (name === '') return 'the file name is empty'
  if (Buffer.byteLength(name) > MAX_FILE_NAME_BYTES)
    return `the file name exceeds ${MAX_FILE_NAME_BYTES} bytes`
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'the file name contains a control character (NUL, CR, LF, …)'
  if (/[/\\]/.test(name)) return 'the file name contains a path separator (/ or \\)'
  if (name === '.' || name === '..') return 'the file name is a relative directory (. or ..)'
  return undefined
}

/** Media types are kept only when they look like one (`type/subtype[; params]`), at most 255 characters. */
export function cleanMediaType(type: string | undefined): string {
  if (type === undefined) return 'application/octet-stream'
  const t = type.trim()
  if (t.length > 255 || !/^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(t)) return 'application/octet-stream'
  return t
}

/** Whether a parsed JSON value is a well-formed {@link FileMeta}. */
export function isFileMeta(v: unknown): v is FileMeta {
  if (typeof v !== 'object' || v === null) return false
  const m = v as Record<string, unknown>
  return (
    typeof m.id === 'string' &&
    isFileId(m.id) &&
    typeof m.name === 'string' &&
    typeof m.size === 'number' &&
    Number.isSafeInteger(m.size) &&
    m.size >= 0 &&
    typeof m.type === 'string' &&
    typeof m.sha256 === 'string' &&
    typeof m.createdAt === 'string' &&
    (m.expiresAt === null || typeof m.expiresAt === 'string')
  )
}
