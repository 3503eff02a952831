/**
 * The file service under `/api/v1/files` (issue 16): upload (multipart or raw), download (ETag, Range), list,
 * keep, delete; and `POST /api/v1/files/upload`, where a bundle given the download helper's one-time ticket
 * uploads (wire-protocol.md §7). Scopes [HA-5]: read may list and download, readwrite may upload, keep and delete.
 * @module
 */
import multipart from '@fastify/multipart'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { GatewayError } from '../../errors.ts'
import { type FileMeta, type FileStore, TICKET_PREFIX, type UploadTickets } from '../../files/index.ts'
import { credentialOf } from '../auth.ts'
import { sendError } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'
import { fileHelperRoutes } from './file-helpers.ts'
import { sendFile } from './file-send.ts'
import { type ReceivedUpload, receiveUpload, sendUploadError, type UploadLimits } from './file-upload.ts'

/** What the file routes are built from. */
export interface FileRouteDeps {
  store: FileStore
  tickets: UploadTickets
  limits: UploadLimits
  /** The controller, for the §7 helpers. */
  helpers: Omit<Parameters<typeof fileHelperRoutes>[1], 'store' | 'tickets' | 'limits'>
}

/** The path a caller downloads file `id` from (relative to the gateway's URL). */
export function fileUrl(id: string): string {
  return `${API_PREFIX}/files/${id}`
}

/** A file as the API shows it: its metadata and its download path. */
export function fileView(meta: FileMeta): FileMeta & { url: string } {
  return { ...meta, url: fileUrl(meta.id) }
}

/** One file: its view; several (multipart): `{files: [...]}`. */
function uploadAnswer(up: ReceivedUpload) {
  const views = up.files.map((f) => fileView(f.meta))
  return views.length === 1 ? views[0] : { files: views }
}

function notFound(reply: FastifyReply, id: string) {
  return sendError(reply, 'GW_ERR_FILE_NOT_FOUND', [id.slice(0, 64)])
}

async function upload(request: FastifyRequest, reply: FastifyReply, deps: FileRouteDeps) {
  try {
    const up = await receiveUpload(request, deps.store, deps.limits)
    return reply.code(201).send(uploadAnswer(up))
  } catch (err) {
    if (err instanceof GatewayError) return sendUploadError(reply, err)
    throw err
  }
}

/** Registers the file service and the §7 helpers in their own scope (multipart and raw bodies only there). */
export function fileRoutes(app: FastifyInstance, deps: FileRouteDeps): void {
  const scoped: FastifyPluginAsync = async (scope) => {
    await scope.register(multipart)
    // raw uploads: the handler streams the body itself; anything else reaches the handler too, which answers 415
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null))
    const read = { auth: 'read' as const }
    const write = { auth: 'resource' as const }
    scope.get(`${API_PREFIX}/files`, { config: read }, async () => deps.store.list().map(fileView))
    scope.post(`${API_PREFIX}/files`, { config: write }, (request, reply) => upload(request, reply, deps))
    scope.get(`${API_PREFIX}/files/:id`, { config: read }, async (request, reply) => {
      const { id } = request.params as { id: string }
      const meta = deps.store.get(id)
      if (!meta) return notFound(reply, id)
      return sendFile(request, reply, meta, deps.store.pathOf(id))
    })
    scope.get(`${API_PREFIX}/files/:id/info`, { config: read }, async (request, reply) => {
      const { id } = request.params as { id: string }
      const meta = deps.store.get(id)
      return meta ? fileView(meta) : notFound(reply, id)
    })
    scope.put(`${API_PREFIX}/files/:id`, { config: write }, async (request, reply) => {
      const { id } = request.params as { id: string }
      const body = request.body as { keep?: unknown } | undefined
      if (typeof body?.keep !== 'boolean') {
        return sendError(reply, 'GW_ERR_BAD_REQUEST', ['expected a JSON object {"keep": true | false}'])
      }
      const meta = await deps.store.keep(id, body.keep)
      return meta ? fileView(meta) : notFound(reply, id)
    })
    scope.delete(`${API_PREFIX}/files/:id`, { config: write }, async (request, reply) => {
      const { id } = request.params as { id: string }
      if (!(await deps.store.remove(id))) return notFound(reply, id)
      return reply.code(204).send()
    })
    // §7: the upload URL the download helper hands a bundle; its credential is the one-time ticket
    scope.post(`${API_PREFIX}/files/upload`, { config: { auth: 'none' } }, async (request, reply) => {
      const secret = credentialOf(request)
      if (!secret?.startsWith(TICKET_PREFIX) || !deps.tickets.redeem(secret)) {
        return sendError(reply, 'GW_ERR_FILE_TICKET', [], { connection: 'close' })
      }
      return upload(request, reply, deps)
    })
    fileHelperRoutes(scope, {
      ...deps.helpers,
      store: deps.store,
      tickets: deps.tickets,
      limits: deps.limits,
    })
  }
  void app.register(scoped)
}
