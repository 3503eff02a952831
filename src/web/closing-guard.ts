import type { FastifyInstance } from 'fastify'
import { sendError } from './http-error.ts'

/**
 * While the web service closes, a request that still arrives (on a connection that was busy, or pipelined behind
 * a request in progress) answers 503 `GW_ERR_UNAVAILABLE` with the documented body ([HA-12]) and
 * `Connection: close`, instead of fastify's own 503 body (`return503OnClosing` is off for that).
 */
export function installClosingGuard(app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    void sendError(reply, 'GW_ERR_UNAVAILABLE', ['the gateway is stopping'], { connection: 'close' })
  })
}
