import { isIP } from 'node:net'
import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import { errorReply, sendReply } from './http-error.ts'

/** Where the web service listens and which further names it answers to (config `http.host`, `http.allowedHosts`). */
export interface HostOptions {
  /** The listen address or name (`http.host`). */
  listenHost: string
  /** `http.allowedHosts`: comma-separated names or `name:port`; `*` allows any. */
  allowedHosts: string
  /** The machine's names, allowed (with `<name>.local`) when `listenHost` is a wildcard. @default os.hostname() */
  machineNames?: readonly string[]
}

/** The authority of an absolute-form request target ([RFC 9112 §3.2.2]), set by {@link absoluteFormPath}. */
export const kTargetAuthority = Symbol('bundlegate.targetAuthority')

const LOOPBACK_NAMES = ['localhost']
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', ''])
/** `host[:port]`: a reg-name (RFC 3986 §3.2.2, without percent-encoding) or a bracketed IPv6 literal. */
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=-]+)(?::(\d{1,5}))?$/

function normalName(name: string): string {
  const n = name.toLowerCase()
  return n.endsWith('.') && n.length > 1 ? n.slice(0, -1) : n
}

/**
 * The names the web service answers to. IP literals need no entry: a DNS-rebinding page can only make the browser
 * send a name (its own), never an address, so any IP literal is accepted.
 */
export function allowedHostSet(o: HostOptions): { any: boolean; names: Set<string> } {
  const names = new Set(LOOPBACK_NAMES)
  let any = false
  const listen = normalName(o.listenHost)
  if (WILDCARDS.has(listen)) {
    for (const m of o.machineNames ?? [hostname()]) {
      if (m === '') continue
      names.add(normalName(m))
      // its mDNS name too
      if (!m.includes('.')) names.add(`${normalName(m)}.local`)
    }
  } else if (isIP(listen) === 0) names.add(listen)
  for (const entry of o.allowedHosts.split(',')) {
    const e = entry.trim()
    if (e === '*') any = true
    else if (e !== '') names.add(normalName(e))
  }
  return { any, names }
}

/** Why `value` (a Host header or an absolute target's authority) is not ours: 400 or 421 reply, or undefined. */
export function hostRefusal(value: string, allowed: { any: boolean; names: Set<string> }) {
  const m = AUTHORITY.exec(value.toLowerCase())
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535))
    return errorReply('GW_ERR_HTTP_HOST_INVALID', [JSON.stringify(value.slice(0, 100))])
  if (allowed.any) return undefined
  const name = m[1] as string
  if (name.startsWith('[') ? isIP(name.slice(1, -1)) === 6 : isIP(name) === 4) return undefined
  const n = normalName(name)
  if (allowed.names.has(n) || (m[2] !== undefined && allowed.names.has(`${n}:${m[2]}`))) return undefined
  return errorReply('GW_ERR_HTTP_HOST_NOT_ALLOWED', [JSON.stringify(value.slice(0, 100))])
}

/** How many `Host` header lines the request has (Node keeps only the first). */
function hostLines(raw: readonly string[]): number {
  let n = 0
  for (let i = 0; i < raw.length; i += 2)
    if ((raw[i] as string).length === 4 && raw[i]?.toLowerCase() === 'host') n++
  return n
}

/**
 * The DNS-rebinding defence: every request (WebSocket upgrades included, which fastify routes too) whose `Host`
 * is not one of the gateway's names answers 421 `GW_ERR_HTTP_HOST_NOT_ALLOWED` before anything else runs, its
 * credentials unread. Per RFC 9112 §3.2 a missing `Host` on HTTP/1.1, several `Host` lines or a malformed one are
 * 400 `GW_ERR_HTTP_HOST_INVALID`; HTTP/1.0 may omit it (no browser does). An absolute-form target's authority
 * replaces the Host header (RFC 9112 §3.2.2). Registered first, so it runs before authentication.
 */
export function installHostCheck(app: FastifyInstance, o: HostOptions): void {
  const allowed = allowedHostSet(o)
  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw as typeof request.raw & { [kTargetAuthority]?: string }
    const target = raw[kTargetAuthority]
    const host = raw.headers.host
    let r: ReturnType<typeof hostRefusal>
    if (target !== undefined) r = hostRefusal(target, allowed)
    else if (host === undefined)
      r =
        raw.httpVersion === '1.0'
          ? undefined
          : errorReply('GW_ERR_HTTP_HOST_INVALID', ['an HTTP/1.1 request needs a Host header'])
    else if (hostLines(raw.rawHeaders) > 1) r = errorReply('GW_ERR_HTTP_HOST_INVALID', ['more than one Host'])
    else r = hostRefusal(host, allowed)
    if (r === undefined) return done()
    void sendReply(reply, r, { connection: 'close' })
  })
}
