import type { FastifyInstance } from 'fastify'
import { errorReply, sendReply } from '../http-error.ts'

/** `GET /health` (the process serves HTTP) and `GET /ready` (broker and controller up), no auth ([HA-11]). */
export function healthRoutes(app: FastifyInstance, ready: () => string | undefined): void {
  app.get('/health', { config: { auth: 'none' } }, async () => ({ status: 'ok' }))
  app.get('/ready', { config: { auth: 'none' } }, async (_request, reply) => {
    const notReady = ready()
    if (notReady === undefined) return { status: 'ready' }
    const r = errorReply('GW_ERR_UNAVAILABLE', [notReady])
    return sendReply(reply, { status: r.status, body: { status: 'not ready', ...r.body } })
  })
}
