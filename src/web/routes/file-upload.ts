/**
 * Receiving an upload (issue 16): a multipart body (via @fastify/multipart's busboy) or a raw
 * `application/octet-stream` body, streamed into the file store. Every limit is checked where the bytes enter,
 * once; a failed upload removes what it stored so far.
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createError, GatewayError } from '../../errors.ts'
import { type FileMeta, type FileStore, raced } from '../../files/index.ts'

/** The request-level limits (the `files` config section). */
export interface UploadLimits {
  maxParts: number
  maxFieldBytes: number
  stallTimeoutMs: number
}

/** What an upload stored: the files (with their form field) and the accepted non-file fields. */
export interface ReceivedUpload {
  files: Array<{ field: string; meta: FileMeta }>
  fields: Record<string, string>
}

/** Options of {@link receiveUpload}. */
export interface ReceiveOptions {
  /** Non-file form fields that are accepted (any other is refused as "a part without a file name"). */
  fields?: ReadonlySet<string>
  keep?: boolean
}

const MULTIPART_ERRORS: Record<string, (limits: UploadLimits, err: Error) => GatewayError> = {
  FST_PARTS_LIMIT: (l) => createError('GW_ERR_FILE_TOO_MANY_PARTS', [l.maxParts]),
  FST_FILES_LIMIT: (l) => createError('GW_ERR_FILE_TOO_MANY_PARTS', [l.maxParts]),
  FST_FIELDS_LIMIT: (l) => createError('GW_ERR_FILE_TOO_MANY_PARTS', [l.maxParts]),
  FST_MP_PREMATURE_CLOSE: (_l, e) => createError('GW_ERR_FILE_INCOMPLETE', [e.message]),
}

/** Maps the multipart parser's and the socket's errors onto our table; our own errors pass unchanged. */
export function uploadError(err: unknown, limits: UploadLimits): GatewayError {
  if (err instanceof GatewayError) return err
  const e = err as Error & { code?: string; statusCode?: number }
  const known = e.code ? MULTIPART_ERRORS[e.code] : undefined
  if (known) return known(limits, e)
  if (/unexpected end|terminated early|aborted/i.test(e.message ?? '') || e.code === 'ECONNRESET')
    return createError('GW_ERR_FILE_INCOMPLETE', [e.message])
  return createError('GW_ERR_BAD_REQUEST', [`malformed upload: ${e.message}`])
}

/**
 * Aborts the upload when no data arrives for `ms`: `touch()` is called for every chunk and every part, the timer
 * runs in every phase (waiting for the first byte, for the next part, for the rest of a file); `stop()` ends it.
 * (Not a 'data' listener on the socket: that would take the socket away from the HTTP parser.)
 */
function stallWatch(ms: number): { signal: AbortSignal; touch: () => void; stop: () => void } {
  const ac = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const touch = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => ac.abort(createError('GW_ERR_FILE_TIMEOUT', [ms])), ms)
  }
  touch()
  return {
    signal: ac.signal,
    touch,
    stop: () => {
      if (timer) clearTimeout(timer)
    },
  }
}

function queryString(request: FastifyRequest, key: string): string | undefined {
  const v = (request.query as Record<string, unknown> | undefined)?.[key]
  return typeof v === 'string' ? v : undefined
}

/** Whether the request body is a raw file (`application/octet-stream`). */
function isRaw(request: FastifyRequest): boolean {
  return /^application\/octet-stream\s*(;|$)/i.test(request.headers['content-type'] ?? '')
}

/**
 * Stores the upload of `request`. Throws a GatewayError (after removing whatever it stored): 415 for another
 * content type, 413 as soon as a size or count limit is passed, 507 when the quota or the disk is full, 408 when the
 * client stalls, 400 for names and malformed bodies.
 */
export async function receiveUpload(
  request: FastifyRequest,
  store: FileStore,
  limits: UploadLimits,
  options: ReceiveOptions = {},
): Promise<ReceivedUpload> {
  const multipart = request.isMultipart()
  if (!multipart && !isRaw(request)) {
    throw createError('GW_ERR_FILE_MEDIA_TYPE', [JSON.stringify(request.headers['content-type'] ?? 'none')])
  }
  const out: ReceivedUpload = { files: [], fields: {} }
  const watch = stallWatch(limits.stallTimeoutMs)
  try {
    if (multipart) await receiveParts(request, store, limits, options, out, watch)
    else {
      const declared = Number(request.headers['content-length'])
      // a declared length over the limit is refused before one byte is read
      if (declared > store.options.maxFileBytes)
        throw createError('GW_ERR_FILE_TOO_LARGE', [store.options.maxFileBytes])
      if (store.usedBytes + declared > store.options.quotaBytes)
        throw createError('GW_ERR_FILE_QUOTA', [store.options.quotaBytes])
      const meta = await store.write(request.raw, {
        name: queryString(request, 'name') ?? 'upload.bin',
        type: queryString(request, 'type'),
        keep: options.keep ?? false,
        signal: watch.signal,
        onData: watch.touch,
      })
      out.files.push({ field: 'file', meta })
    }
    if (out.files.length === 0) throw createError('GW_ERR_FILE_NO_FILE', ['the request has no file part'])
    return out
  } catch (err) {
    for (const f of out.files) await store.remove(f.meta.id).catch(() => {})
    throw uploadError(err, limits)
  } finally {
    watch.stop()
  }
}

async function receiveParts(
  request: FastifyRequest,
  store: FileStore,
  limits: UploadLimits,
  options: ReceiveOptions,
  out: ReceivedUpload,
  watch: { signal: AbortSignal; touch: () => void },
): Promise<void> {
  const signal = watch.signal
  const parts = request
    .parts({
      preservePath: true, // the name as sent: `../x` is refused, not silently cut to `x`
      limits: {
        parts: limits.maxParts,
        files: limits.maxParts,
        fields: limits.maxParts,
        fieldSize: limits.maxFieldBytes,
        fieldNameSize: 200,
        fileSize: store.options.maxFileBytes + 1,
        headerPairs: 32,
      },
      // the store stops at maxFileBytes itself, with our error
      ...({ throwFileSizeLimit: false } as object),
    })
    [Symbol.asyncIterator]()
  for (;;) {
    const next = await raced(parts.next(), signal)
    if (next.done) return
    const part = next.value
    watch.touch()
    const noName = () =>
      createError('GW_ERR_FILE_NO_FILE', [
        `part '${part.fieldname.slice(0, 100)}' has no file name (filename= in its Content-Disposition)`,
      ])
    if (part.type === 'field') {
      if (!options.fields?.has(part.fieldname)) throw noName()
      if (part.valueTruncated || part.fieldnameTruncated)
        throw createError('GW_ERR_FILE_FIELD_TOO_LARGE', [part.fieldname.slice(0, 100), limits.maxFieldBytes])
      out.fields[part.fieldname] = String(part.value)
      continue
    }
    // busboy also hands over parts without a file name as files when their type is not text
    if (typeof part.filename !== 'string' || part.filename === '') throw noName()
    const meta = await store.write(part.file, {
      name: part.filename,
      type: part.mimetype,
      keep: options.keep ?? false,
      signal,
      onData: watch.touch,
    })
    out.files.push({ field: part.fieldname, meta })
  }
}

/** Sends an upload error; the connection is closed so that the rest of a refused body is never read. */
export function sendUploadError(reply: FastifyReply, err: GatewayError): FastifyReply {
  return reply
    .code(err.statusCode)
    .header('connection', 'close')
    .send({ message: err.message, code: err.code })
}
