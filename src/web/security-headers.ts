import type { FastifyInstance } from 'fastify'

/**
 * The console page's Content-Security-Policy: its own scripts, styles, images and API only; no inline script or
 * style, no plugin, no framing, no form posted elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** API answers are data, never documents: nothing may load from them, nobody may frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"

/**
 * Security headers on every answer of the web service (issue 4): `X-Content-Type-Options: nosniff`,
 * `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, a Content-Security-Policy (the console's for HTML, a
 * deny-all one for everything else), `Cross-Origin-Opener-Policy` and `Cross-Origin-Resource-Policy`, and
 * `Cache-Control: no-store` unless the route chose its own (the console's assets revalidate by ETag).
 * Streams that take over the socket (the push channel) set their own headers.
 */
export function installSecurityHeaders(app: FastifyInstance): void {
  // callback style: no promise per response on the hot path
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = String(reply.getHeader('content-type') ?? '')
    void reply
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
    if (!reply.hasHeader('content-security-policy'))
      void reply.header('content-security-policy', type.startsWith('text/html') ? CONSOLE_CSP : API_CSP)
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
    done(null, payload)
  })
}
