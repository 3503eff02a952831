import type { FastifyRequest } from 'fastify'
import { API_PREFIX } from './map-resource.ts'

/** A request target under `/api/v1`, parsed once per request. */
export interface ApiTarget {
  /** `/<path>?<query>` verbatim (no decoding) [WP-25]; `/` for the prefix itself. */
  resource: string
  /** The resource without its query (empty for the prefix itself): what reserved paths and scopes look at. */
  path: string
}

const parsed = new WeakMap<FastifyRequest, ApiTarget>()

/**
 * The `/api/v1` target of a request: its resource and path [HA-2]. The access check (`onRequest`) and the resource
 * route both read it; the URL is sliced once. Only for requests whose route is under `/api/v1`.
 */
export function apiTarget(request: FastifyRequest): ApiTarget {
  let t = parsed.get(request)
  if (t === undefined) {
    const rest = request.url.slice(API_PREFIX.length)
    t = { resource: rest || '/', path: rest.split('?')[0] ?? '' }
    parsed.set(request, t)
  }
  return t
}
