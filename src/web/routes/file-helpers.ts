/**
 * The original web layer's file helpers (wire-protocol.md §7), with its payload shapes:
 * `POST|PUT [/cg-<id>]/helper/upload?resource=<r>` and `GET [/cg-<id>]/helper/download?resource=<r>`.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ControllerCore, Outcome } from '../../controller/index.ts'
import { GatewayError } from '../../errors.ts'
import type { FileStore, UploadTickets } from '../../files/index.ts'
import { isObject, type Json, MAX_RESOURCE_CHARS } from '../../protocol/index.ts'
import { errorReply, sendError, sendReply } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'
import { outcomeReply, remoteReply } from '../outcome-reply.ts'
import { CONTROLLER_PREFIX, isUnder } from '../reserved.ts'
import { receiveUpload, sendUploadError, type UploadLimits } from './file-upload.ts'

/** What the helpers need. */
export interface FileHelperDeps {
  core: ControllerCore
  debug: boolean
  store: FileStore
  tickets: UploadTickets
  limits: UploadLimits
}

const JSON_DATA = new Set(['jsonData'])

/**
 * `http://<address>:<port>` of the socket the request arrived on: where a bundle on this device reaches the
 * gateway. Never the `Host` header, which the caller chooses (a bundle would upload to the caller's server).
 */
export function siteOf(request: FastifyRequest): string {
  const s = request.raw.socket
  const addr = (s.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '')
  return `http://${addr.includes(':') ? `[${addr}]` : addr}:${s.localPort}`
}

const GW_ID = /^[A-Za-z0-9_]+$/

/** The `resource` query parameter, or the error to answer (the controller's own resources: admin only). */
function resourceOf(request: FastifyRequest): string | { status: number; body: unknown } {
  const gw = (request.params as { gw?: string }).gw
  if (gw !== undefined && !GW_ID.test(gw))
    return errorReply('GW_ERR_NOT_FOUND', [request.method, request.url.split('?')[0]])
  const r = (request.query as Record<string, unknown> | undefined)?.resource
  if (typeof r !== 'string' || r === '') return errorReply('GW_ERR_FILE_NO_RESOURCE')
  if (!r.startsWith('/') || r.length > MAX_RESOURCE_CHARS) {
    const why = `'resource' must start with / and have at most ${MAX_RESOURCE_CHARS} characters`
    return errorReply('GW_ERR_BAD_REQUEST', [why])
  }
  const scope = request.principal?.scope
  if (scope !== undefined && scope !== 'admin' && isUnder(r.split('?')[0] ?? '', CONTROLLER_PREFIX))
    return errorReply('GW_ERR_SCOPE', [scope, 'use', r.split('?')[0]])
  return r
}

/** Sends `<method> <resource>` (or its remote form, §7) and returns the bundle's code and data. */
async function ask(
  deps: FileHelperDeps,
  request: FastifyRequest,
  method: string,
  resource: string,
  data: Json,
): Promise<{ outcome: Outcome; answer: { status: number; body: unknown } }> {
  const gw = (request.params as { gw?: string }).gw
  const p = request.principal
  const outcome = await deps.core.request({
    method,
    resource: gw === undefined ? resource : `/remote/cg-${gw}`,
    data: gw === undefined ? data : { resource, method, data },
    ...(p ? { caller: { token: p.tokenId, scope: p.scope } } : {}),
  })
  let answer = outcomeReply(outcome, resource, deps.debug)
  if (gw !== undefined) answer = remoteReply(outcome, answer, deps.debug) // §7
  return { outcome, answer }
}

/** An error answer reduced to §7's `{message}` (plus our `code`). */
function messageOnly(answer: { status: number; body: unknown }) {
  const b = (answer.body ?? {}) as { message?: unknown; code?: unknown }
  return {
    status: answer.status,
    body: {
      message: typeof b.message === 'string' ? b.message : 'bundle error',
      code: b.code ?? 'GW_ERR_BUNDLE_ERROR',
    },
  }
}

async function helperUpload(deps: FileHelperDeps, request: FastifyRequest, reply: FastifyReply) {
  const resource = resourceOf(request)
  // refused before the body is read: the connection closes instead of reading the rest of it
  if (typeof resource !== 'string') return sendReply(reply, resource, { connection: 'close' })
  let up: Awaited<ReturnType<typeof receiveUpload>>
  try {
    up = await receiveUpload(request, deps.store, deps.limits, { fields: JSON_DATA })
  } catch (err) {
    if (err instanceof GatewayError) return sendUploadError(reply, err)
    throw err
  }
  const removeAll = async () => {
    for (const f of up.files) await deps.store.remove(f.meta.id).catch(() => {})
  }
  let extra: Record<string, Json> = {}
  if (up.fields.jsonData !== undefined) {
    let parsed: unknown
    try {
      parsed = JSON.parse(up.fields.jsonData)
    } catch {
      parsed = undefined
    }
    if (!isObject(parsed as Json)) {
      await removeAll()
      return sendError(reply, 'GW_ERR_BAD_REQUEST', ['form field jsonData must be a JSON object'])
    }
    extra = parsed as Record<string, Json>
  }
  const site = siteOf(request)
  const entry = (m: (typeof up.files)[number]['meta']): Json => ({
    url: `${site}${API_PREFIX}/files/${m.id}`,
    physicalPath: deps.store.pathOf(m.id),
    // §7's "headers": never the caller's (its token must not travel on MQTT, [WP-60]); the file's own facts
    headers: { 'content-type': m.type, 'content-length': String(m.size) },
    id: m.id,
    name: m.name,
    size: m.size,
    type: m.type,
    sha256: m.sha256,
  })
  // the file entries come last: jsonData cannot forge a physicalPath
  const data: Record<string, Json> = { ...extra }
  delete data.file
  delete data.files
  if (up.files.length === 1) data.file = entry((up.files[0] as (typeof up.files)[number]).meta)
  else data.files = Object.fromEntries(up.files.map((f) => [f.field, entry(f.meta)]))
  const { answer } = await ask(deps, request, request.method.toLowerCase(), resource, data)
  // success (any 2xx/3xx, 200 in the original): the bundle's code and data; an error: {message}, the upload removed
  if (answer.status < 400) return sendReply(reply, answer)
  await removeAll()
  return sendReply(reply, messageOnly(answer))
}

async function helperDownload(deps: FileHelperDeps, request: FastifyRequest, reply: FastifyReply) {
  const p = request.principal
  // the helper makes the bundle POST: a read token may not make it (it could not POST itself) [HA-5]
  if (p?.scope === 'read') return sendError(reply, 'GW_ERR_SCOPE', ['read', 'POST', '/helper/download'])
  const resource = resourceOf(request)
  if (typeof resource !== 'string') return sendReply(reply, resource)
  const ticket = deps.tickets.issue(p?.tokenId)
  const data: Json = {
    url: `${siteOf(request)}${API_PREFIX}/files/upload`,
    headers: { 'mx-api-token': ticket },
  }
  const { answer } = await ask(deps, request, 'post', resource, data)
  if (answer.status >= 400) return sendReply(reply, messageOnly(answer))
  const url = (answer.body as { url?: unknown } | undefined)?.url
  if (typeof url !== 'string')
    return sendError(reply, 'GW_ERR_BUNDLE_BAD_RESPONSE', [resource, "200 without a string 'url'"])
  return sendReply(reply, { status: 200, body: { downloadLink: url } })
}

/** Registers the helpers, plain and remote (`/cg-<id>/…`), in the file routes' scope. */
export function fileHelperRoutes(app: FastifyInstance, deps: FileHelperDeps): void {
  for (const prefix of [API_PREFIX, `${API_PREFIX}/cg-:gw`]) {
    const config = { auth: 'resource' as const }
    const url = `${prefix}/helper/upload`
    app.route({ method: ['POST', 'PUT'], url, config, handler: (rq, rp) => helperUpload(deps, rq, rp) })
    app.get(`${prefix}/helper/download`, { config }, (rq, rp) => helperDownload(deps, rq, rp))
  }
}
