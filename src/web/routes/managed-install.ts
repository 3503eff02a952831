/**
 * `POST /api/v1/bundles`: a gzip'ed tar of a bundle directory, streamed to the manager (never held in memory),
 * counted where it enters: over `manager.uploadMaxBytes` it is a 413 at once, the rest of the body unread.
 * @module
 */
import type { Readable } from 'node:stream'
import { Transform } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createError, GatewayError } from '../../errors.ts'
import type { BundleManagerApi, InstallOptions, ManagedInfo } from '../../manager/index.ts'
import { isObject } from '../../protocol/index.ts'

/** 413: the compressed upload passes `manager.uploadMaxBytes` (the unpacker's own code, which counts it too). */
const tooLargeError = (max: number) =>
  createError('GW_ERR_MANAGER_TARBALL_TOO_LARGE', [
    `its compressed size passes ${max} bytes (manager.uploadMaxBytes)`,
  ])

/** The install options of the query (`allowDowngrade=true`, `start=false`). @throws GW_ERR_BAD_REQUEST */
export function installOptionsOf(query: unknown): InstallOptions {
  const q = isObject(query) ? query : {}
  const flag = (key: string): boolean | undefined => {
    const v = q[key]
    if (v === undefined) return undefined
    if (v === 'true') return true
    if (v === 'false') return false
    throw createError('GW_ERR_BAD_REQUEST', [`query ${key} must be true or false`])
  }
  const allowDowngrade = flag('allowDowngrade')
  const start = flag('start')
  return {
    ...(allowDowngrade === undefined ? {} : { allowDowngrade }),
    ...(start === undefined ? {} : { start }),
  }
}

/**
 * The body as the manager reads it: the bytes pass through as they come; past `max` the stream fails with
 * `GW_ERR_MANAGER_TARBALL_TOO_LARGE` (and `tooLarge()` says so); a client that goes away fails it too, so the
 * manager never waits for an end that will not come.
 */
export function countedBody(body: Readable, max: number): { stream: Transform; tooLarge: () => boolean } {
  let received = 0
  let over = false
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length
      if (received > max) {
        over = true
        body.unpipe(stream)
        callback(tooLargeError(max))
        return
      }
      callback(null, chunk)
    },
  })
  const gone = (err?: Error) => {
    if (!body.readableEnded && !stream.destroyed)
      stream.destroy(
        createError('GW_ERR_BAD_REQUEST', [`the upload ended early: ${err?.message ?? 'closed'}`]),
      )
  }
  body.once('error', gone)
  body.once('aborted', () => gone(new Error('aborted')))
  body.once('close', () => gone())
  body.pipe(stream)
  return { stream, tooLarge: () => over }
}

/** The body of an install error: `{message, code}` and the error's own fields (e.g. the owner of a collision). */
function errorBody(err: GatewayError): Record<string, unknown> {
  const extra = isObject(err.data) ? err.data : {}
  return { ...extra, message: err.message, code: err.code }
}

/** Answers an install: 201 with the item, or the error with the connection closed (the body may be unread). */
export async function installUpload(
  request: FastifyRequest,
  reply: FastifyReply,
  manager: BundleManagerApi,
  maxBytes: number,
  view: (m: ManagedInfo) => unknown,
): Promise<FastifyReply> {
  const fail = (err: GatewayError) =>
    reply.code(err.statusCode).header('connection', 'close').send(errorBody(err))
  const body = request.body as Readable | undefined
  if (!body || typeof (body as Readable).pipe !== 'function')
    return fail(
      createError('GW_ERR_MANAGER_MEDIA_TYPE', [JSON.stringify(request.headers['content-type'] ?? 'none')]),
    )
  let options: InstallOptions
  try {
    options = installOptionsOf(request.query)
  } catch (err) {
    return fail(err as GatewayError)
  }
  // a declared length over the cap is refused before one byte is read
  if (Number(request.headers['content-length']) > maxBytes) return fail(tooLargeError(maxBytes))
  const counted = countedBody(body, maxBytes)
  try {
    const info = await manager.installTarball(counted.stream, options)
    return reply.code(201).send(view(info))
  } catch (err) {
    if (counted.tooLarge()) return fail(tooLargeError(maxBytes))
    if (err instanceof GatewayError) return fail(err)
    throw err
  } finally {
    if (!counted.stream.destroyed) counted.stream.destroy()
  }
}
