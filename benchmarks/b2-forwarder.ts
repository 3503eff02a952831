/**
 * Case B2's front: a bare fastify route that forwards each request over ONE raw keep-alive socket to a second
 * process (`b2-responder.ts`, forked here) and sends back what it answers. No token, no controller, no MQTT: the
 * limit of Bundlegate's architecture (HTTP in one process, the bundle in another), the yardstick that says how much
 * of A's cost is the gateway's own. Reports its port over IPC once both are up.
 * @module
 */
import { fork } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import Fastify from 'fastify'

const responder = fork(join(import.meta.dirname, 'b2-responder.ts'), [], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
})
const responderPort = await new Promise<number>((resolvePort, reject) => {
  responder.once('message', (m: { port?: number }) => resolvePort(m.port ?? 0))
  responder.once('exit', (code) => reject(new Error(`b2 responder exited (code ${code})`)))
})

const socket = connect({ host: '127.0.0.1', port: responderPort, noDelay: true })
await new Promise<void>((resolveConnect, reject) => {
  socket.once('connect', resolveConnect)
  socket.once('error', reject)
})
socket.setEncoding('utf8')

const waiting = new Map<number, (body: string) => void>()
let nextId = 1
let pending = ''
socket.on('data', (chunk: string) => {
  pending += chunk
  let nl = pending.indexOf('\n')
  while (nl !== -1) {
    const line = pending.slice(0, nl)
    pending = pending.slice(nl + 1)
    const sp = line.indexOf(' ')
    const id = Number(line.slice(0, sp))
    const done = waiting.get(id)
    waiting.delete(id)
    done?.(line.slice(sp + 1))
    nl = pending.indexOf('\n')
  }
})

const app = Fastify({ logger: false })
app.get('/api/v1/example', (_request, reply) => {
  const id = nextId++
  waiting.set(id, (body) => {
    reply.header('content-type', 'application/json; charset=utf-8').send(body)
  })
  socket.write(`${id}\n`)
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.send?.({
  type: 'listening',
  port: typeof address === 'object' && address ? address.port : 0,
  responderPid: responder.pid,
})

const stop = () => {
  responder.kill('SIGTERM')
  socket.destroy()
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  )
}
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.once('disconnect', stop)
