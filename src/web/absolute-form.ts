import type { IncomingMessage } from 'node:http'
import { kTargetAuthority } from './host-check.ts'

const ABSOLUTE = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/is

/**
 * Fastify's `rewriteUrl`: an absolute-form request target (`GET http://host/api/v1/x HTTP/1.1`, RFC 9112 §3.2.2)
 * becomes its path and query, so the resource is `/x` and never `host/api/v1/x` ([HA-2], [WP-25]); its authority
 * is kept on the request for the Host check, which the RFC says it replaces. A target with another scheme, with
 * userinfo, or without an authority is left as it is: it matches no route (404 `GW_ERR_NOT_FOUND`), or the Host
 * check refuses it (400 `GW_ERR_HTTP_HOST_INVALID`).
 */
export function absoluteFormPath(req: IncomingMessage): string {
  const url = req.url ?? '/'
  if (url.startsWith('/')) return url
  const m = ABSOLUTE.exec(url)
  if (!m) return url
  const scheme = (m[1] as string).toLowerCase()
  if (scheme !== 'http' && scheme !== 'https') return url
  const authority = m[2] as string
  ;(req as IncomingMessage & { [kTargetAuthority]?: string })[kTargetAuthority] = authority
  // RFC 9112 §3.2.2: the Host header is ignored; what reads it downstream (the Origin check) sees the authority
  req.headers.host = authority
  const rest = (m[3] as string).replace(/#.*$/s, '')
  return rest.startsWith('/') ? rest : `/${rest}`
}
