/**
 * Case B2's second process: the least an out-of-process bundle can be. It accepts one raw TCP connection from the
 * forwarder and answers each line `<id>\n` with `<id> {"key":"value"}\n` on the same socket. No MQTT, no JSON
 * parse, no routing: what is left is the process hop itself. Reports its port over IPC.
 * @module
 */
import { createServer } from 'node:net'

const BODY = '{"key":"value"}'

const server = createServer((socket) => {
  socket.setNoDelay(true)
  let pending = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    pending += chunk
    let out = ''
    let nl = pending.indexOf('\n')
    while (nl !== -1) {
      out += `${pending.slice(0, nl)} ${BODY}\n`
      pending = pending.slice(nl + 1)
      nl = pending.indexOf('\n')
    }
    if (out !== '') socket.write(out) // one write per chunk read, as a broker coalesces what arrived together
  })
  socket.on('error', () => socket.destroy())
})
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 })
})

const stop = () => server.close(() => process.exit(0))
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
process.once('disconnect', stop)
