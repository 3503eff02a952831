/**
 * Sending a stored file: `Content-Length`, a strong `ETag` (its SHA-256), `If-None-Match` (304), a single byte
 * range (206, `If-Range`), 416 for a range outside the file. Always `Content-Disposition: attachment` and a
 * sandboxing CSP: an uploaded HTML file is never rendered as a page of the gateway's origin (docs/security.md).
 * @module
 */
import { createReadStream } from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createError } from '../../errors.ts'
import type { FileMeta } from '../../files/index.ts'

/** `attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>` (RFC 6266). */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

/** The single range of a `Range` header: `[start, end]` (inclusive), 'none' to send all, 'bad' for 416. */
export function parseRange(header: string | undefined, size: number): [number, number] | 'none' | 'bad' {
  if (header === undefined) return 'none'
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m) return header.includes(',') ? 'none' : 'bad' // several ranges: the whole file (RFC 9110 allows it)
  const [, a = '', b = ''] = m
  if (a === '' && b === '') return 'bad'
  if (a === '') {
    const n = Number(b)
    if (n === 0 || size === 0) return 'bad'
    return [Math.max(0, size - n), size - 1]
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (start >= size || end < start) return 'bad'
  return [start, end]
}

/** Answers a GET (or HEAD) for the stored file `meta` whose content is at `path`. */
export function sendFile(request: FastifyRequest, reply: FastifyReply, meta: FileMeta, path: string) {
  const etag = `"${meta.sha256}"`
  void reply
    .header('etag', etag)
    .header('accept-ranges', 'bytes')
    .header('content-disposition', contentDisposition(meta.name))
    .header('content-security-policy', "sandbox; default-src 'none'")
    .header('cache-control', 'private, no-cache')
  const inm = request.headers['if-none-match']
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    return reply.code(304).send()
  }
  let range = parseRange(request.headers.range, meta.size)
  const ifRange = request.headers['if-range']
  if (range !== 'none' && typeof ifRange === 'string' && ifRange.trim() !== etag) range = 'none'
  if (range === 'bad') {
    const err = createError('GW_ERR_FILE_RANGE', [String(request.headers.range).slice(0, 100), meta.size])
    return reply
      .code(416)
      .header('content-range', `bytes */${meta.size}`)
      .send({ message: err.message, code: err.code })
  }
  const [start, end] = range === 'none' ? [0, meta.size - 1] : range
  const length = meta.size === 0 ? 0 : end - start + 1
  void reply.header('content-type', meta.type).header('content-length', String(length))
  if (range !== 'none') void reply.code(206).header('content-range', `bytes ${start}-${end}/${meta.size}`)
  if (length === 0) return reply.send('')
  return reply.send(createReadStream(path, { start, end, highWaterMark: 256 * 1024 }))
}
