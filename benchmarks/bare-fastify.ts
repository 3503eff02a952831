/**
 * Case B's server, a process of its own (forked by run.ts): the same JSON as the example bundle, `{"key":"value"}`,
 * answered by a bare fastify route on loopback. No token check, no controller, no MQTT: the most this machine's
 * HTTP stack can do, the limit case A is measured against. Reports its port over IPC.
 * @module
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/api/v1/example', async () => ({ key: 'value' }))
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const port = typeof address === 'object' && address ? address.port : 0
process.send?.({ type: 'listening', port })

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.once('disconnect', stop)
