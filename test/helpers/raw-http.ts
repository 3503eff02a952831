/**
 * Raw HTTP/1.1 over a TCP socket, for requests no client library sends as written (absolute-form targets, several
 * Host lines, broken request lines, drip-fed headers).
 * @module
 */

import { connect, type Socket } from 'node:net'

/** The first answer on the socket, parsed, and whether the server closed the connection. */
export interface RawAnswer {
  status: number
  headers: Record<string, string>
  body: string
  /** Everything the server sent. */
  raw: string
  /** The server closed (or reset) the connection. */
  closed: boolean
}

function parse(raw: string, closed: boolean): RawAnswer {
  const end = raw.indexOf('\r\n\r\n')
  const head = end === -1 ? raw : raw.slice(0, end)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const colon = l.indexOf(':')
    if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim()
  }
  let body = end === -1 ? '' : raw.slice(end + 4)
  const length = headers['content-length']
  if (length !== undefined) body = body.slice(0, Number(length))
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body, raw, closed }
}

/**
 * Sends `text` to 127.0.0.1:`port` and resolves with the first answer once the server closed the connection, or
 * after `waitMs` (then the client closes it).
 */
export function rawRequest(port: number, text: string, waitMs = 2000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let raw = ''
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(parse(raw, closed))
    }
    const timer = setTimeout(() => finish(false), waitMs)
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      raw += d
    })
    socket.on('error', () => finish(true))
    socket.on('close', () => finish(true))
    socket.write(text)
  })
}

/** An open socket to 127.0.0.1:`port` that records what it receives and when it was closed. */
export function openSocket(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let raw = ''
    let closed = false
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      raw += d
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      closed = true
    })
    socket.once('connect', () => resolve({ socket, received: () => raw, closed: () => closed }))
    socket.once('error', reject)
  })
}
