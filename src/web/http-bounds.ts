import type { Server } from 'node:http'
import { DEFAULTS } from '../config/index.ts'

/** The HTTP bounds of the config's `http` section. */
export interface HttpBounds {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  /** 0: no cap. */
  maxConnections: number
}

/** Node's own limit of the request line and headers together (`--max-http-header-size`, 16 KiB by default). */
export const MAX_HEADER_BYTES = 16_384

/** The gateway's defaults (config `http.*`). */
export function defaultBounds(): HttpBounds {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections } = DEFAULTS.http
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections }
}

/**
 * Fastify's server options for the bounds. Node checks header and request timeouts on a timer
 * (`connectionsCheckingInterval`, 30 s by default, which let a drip-feeding client stay 30 s and more): here a
 * quarter of the header timeout, at most 1 s. The request timeout covers receiving the request only: an SSE or
 * WebSocket stream, whose request is complete, is not cut by it. A header timeout above the request timeout is
 * lowered to it (Node refuses that pair).
 */
export function boundsServerOptions(b: HttpBounds) {
  const headersTimeout = Math.min(b.headersTimeoutMs, b.requestTimeoutMs)
  return {
    requestTimeout: b.requestTimeoutMs,
    keepAliveTimeout: b.keepAliveTimeoutMs,
    http: {
      headersTimeout,
      requestTimeout: b.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(headersTimeout / 4))),
      maxHeaderSize: MAX_HEADER_BYTES,
      // the Host check answers a missing Host itself, with the documented body ([HA-12])
      requireHostHeader: false,
    },
  }
}

/** What the server object needs beyond fastify's options: the connection cap. */
export function applyBounds(server: Server, b: HttpBounds): void {
  if (b.maxConnections > 0) server.maxConnections = b.maxConnections
}
