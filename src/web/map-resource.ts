import type { Json } from '../protocol/index.ts'

/** The `/api/v1` prefix the gateway adds in front of every bundle resource [HA-2]. */
export const API_PREFIX = '/api/v1'

/** A mapped HTTP request: the resource and data the controller receives, and how to read the answer back. */
export interface MappedRequest {
  resource: string
  data: Json
  /** The remote-gateway form (§7): the answer is nested in the bundle's data. */
  remote: boolean
}

const REMOTE = /^\/cg-([A-Za-z0-9_]+)(\/.*)?$/

/**
 * `/api/v1/<path>?<query>` → resource `/<path>?<query>` (`apiTarget`), verbatim (no decoding) [WP-25]; the body (or
 * `{}`) is `data`. The remote form `/api/v1/cg-<id>/<path>` becomes `/remote/cg-<id>` with the inner request as data
 * (§7).
 */
export function mapRequest(resource: string, method: string, body: Json | undefined): MappedRequest {
  const data: Json = body === undefined ? {} : body
  const q = resource.indexOf('?')
  const path = q === -1 ? resource : resource.slice(0, q)
  const m = REMOTE.exec(path)
  if (m) {
    const inner = (m[2] ?? '/') + (q === -1 ? '' : resource.slice(q))
    return {
      resource: `/remote/cg-${m[1]}`,
      data: { resource: inner, method: method.toLowerCase(), data },
      remote: true,
    }
  }
  return { resource, data, remote: false }
}
