import type { FastifyInstance } from 'fastify'
import type { PushClient } from './push-client.ts'

/** The clients of one push route, each given a heartbeat every `heartbeatMs` until the server closes. */
export function pushClientSet(app: FastifyInstance, heartbeatMs: number): Set<PushClient> {
  const clients = new Set<PushClient>()
  const timer = setInterval(() => {
    for (const c of [...clients]) c.heartbeat()
  }, heartbeatMs)
  timer.unref()
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer)
    done()
  })
  return clients
}
