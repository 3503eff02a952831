import { ID_MAX, isObject, type Json, MAX_RESOURCE_CHARS, parsePayload } from '../protocol/index.ts'

/** A request as it travels on `/fleet/<caller>/req/<target>` [WP-67]: the §2.1 shape without `tunnel`. */
export interface FleetRequest {
  id: number
  method: string
  resource: string
  data: Json
}

/** An answer on `/fleet/<target>/res/<caller>`: the id of the request, HTTP-like code, body. */
export interface FleetReply {
  id: number
  code: number
  data: Json | undefined
}

const METHODS = new Set(['get', 'post', 'put', 'delete'])

/** A request id: an integer in 1 … 2^31−1. */
export function validId(v: Json | undefined): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= ID_MAX
}

/** Parse result: a request, a reason with the id to answer to, or nothing to answer (no valid id). */
export type RequestParse =
  | { ok: true; request: FleetRequest }
  | { ok: false; id: number | undefined; reason: string }

/** A request received on the uplink, checked once where it enters (size, depth, shape). */
export function parseFleetRequest(payload: Uint8Array, maxDepth: number): RequestParse {
  const p = parsePayload(payload, { maxDepth })
  if (!p.ok) {
    const head = p.reason === 'too-deep' ? p.head : undefined
    return { ok: false, id: validId(head?.id) ? head.id : undefined, reason: `payload ${p.reason}` }
  }
  const m = p.message
  const id = validId(m.id) ? m.id : undefined
  if (id === undefined) return { ok: false, id, reason: 'no valid id' }
  if (p.oversize) return { ok: false, id, reason: 'payload too large' }
  if (typeof m.method !== 'string' || !METHODS.has(m.method.toLowerCase()))
    return { ok: false, id, reason: 'method must be get, post, put or delete' }
  if (typeof m.resource !== 'string' || !m.resource.startsWith('/') || m.resource.length > MAX_RESOURCE_CHARS)
    return { ok: false, id, reason: `resource must be a path of at most ${MAX_RESOURCE_CHARS} characters` }
  return {
    ok: true,
    request: { id, method: m.method.toLowerCase(), resource: m.resource, data: m.data ?? {} },
  }
}

/** A reply received on the uplink; undefined when it is not one. */
export function parseFleetReply(payload: Uint8Array, maxDepth: number): FleetReply | undefined {
  const p = parsePayload(payload, { maxDepth })
  if (!p.ok || p.oversize || !isObject(p.message)) return undefined
  const { id, code, data } = p.message
  if (!validId(id) || typeof code !== 'number' || !Number.isInteger(code)) return undefined
  return { id, code, data }
}
