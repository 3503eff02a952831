/**
 * A deliberately small HTTP/1.1 load driver on raw keep-alive TCP sockets: one connection per slot, one request in
 * flight per connection, TCP_NODELAY, a pre-built request buffer, and a response parser that only reads the status
 * line, Content-Length / chunked framing and `Connection: close`. It costs the load generator far less CPU than
 * `http.request`, which matters when generator and server share two cores.
 * @module
 */
import { connect, type Socket } from 'node:net'
import type { Done, Driver } from './driver.ts'
import type { HttpTarget } from './load-spec.ts'

const HEAD_END = Buffer.from('\r\n\r\n')

class Connection {
  #socket: Socket | undefined
  #connected: Promise<void> | undefined
  #buf: Buffer | undefined
  #done: Done | undefined
  readonly #host: string
  readonly #port: number
  readonly #request: Buffer
  readonly #expect: string | undefined

  constructor(host: string, port: number, request: Buffer, expect: string | undefined) {
    this.#host = host
    this.#port = port
    this.#request = request
    this.#expect = expect
  }

  open(): Promise<void> {
    if (this.#connected !== undefined) return this.#connected
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true })
    this.#socket = socket
    this.#buf = undefined
    this.#connected = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', () => undefined) // 'close' follows
    socket.on('close', () => {
      if (this.#socket !== socket) return
      this.#socket = undefined
      this.#connected = undefined
      this.#finish('socket')
    })
    return this.#connected
  }

  issue(done: Done): void {
    this.#done = done
    const socket = this.#socket
    if (socket && !socket.connecting) {
      socket.write(this.#request)
      return
    }
    this.open().then(
      () => this.#socket?.write(this.#request),
      () => this.#finish('connect'),
    )
  }

  /** Drops the connection and the request on it without calling its callback. */
  reset(): void {
    this.#done = undefined
    const socket = this.#socket
    this.#socket = undefined
    this.#connected = undefined
    socket?.destroy()
  }

  close(): void {
    this.reset()
  }

  #finish(failure?: string): void {
    const done = this.#done
    if (!done) return
    this.#done = undefined
    if (failure === undefined) done()
    else setImmediate(done, failure) // a dead server must not turn into a synchronous retry loop
  }

  #onData(chunk: Buffer): void {
    const buf = this.#buf ? Buffer.concat([this.#buf, chunk]) : chunk
    const headEnd = buf.indexOf(HEAD_END)
    if (headEnd === -1) {
      this.#buf = buf
      return
    }
    const head = buf.toString('latin1', 0, headEnd).toLowerCase()
    const status = Number(head.slice(9, 12))
    const bodyStart = headEnd + 4
    let body: string
    let end: number
    const length = /\r\ncontent-length:[ \t]*(\d+)/.exec(head)
    if (length) {
      end = bodyStart + Number(length[1])
      if (buf.length < end) {
        this.#buf = buf
        return
      }
      body = buf.toString('utf8', bodyStart, end)
    } else if (/\r\ntransfer-encoding:[ \t]*chunked/.test(head)) {
      const decoded = dechunk(buf, bodyStart)
      if (!decoded) {
        this.#buf = buf
        return
      }
      ;({ body, end } = decoded)
    } else {
      body = ''
      end = bodyStart
    }
    this.#buf = end < buf.length ? buf.subarray(end) : undefined
    if (/\r\nconnection:[ \t]*close/.test(head)) this.#forget()
    if (status < 200 || status > 299) this.#finish(`http-${status}`)
    else if (this.#expect !== undefined && body !== this.#expect) this.#finish('body')
    else this.#finish()
  }

  /** The server will close: forget the socket so that the next request opens a new one. */
  #forget(): void {
    const socket = this.#socket
    this.#socket = undefined
    this.#connected = undefined
    socket?.end()
  }
}

/** Decodes a complete chunked body starting at `start`, or undefined while incomplete. */
function dechunk(buf: Buffer, start: number): { body: string; end: number } | undefined {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const size = Number.parseInt(buf.toString('latin1', at, lineEnd), 16)
    if (!Number.isFinite(size)) return undefined
    const dataStart = lineEnd + 2
    if (size === 0) {
      const end = buf.indexOf(HEAD_END, lineEnd)
      if (end === -1) return undefined
      return { body: Buffer.concat(parts).toString('utf8'), end: end + 4 }
    }
    if (buf.length < dataStart + size + 2) return undefined
    parts.push(buf.subarray(dataStart, dataStart + size))
    at = dataStart + size + 2
  }
}

/** The HTTP driver: `GET <url>` with the target's headers on `slots` keep-alive connections. */
export function httpDriver(target: HttpTarget): Driver {
  const url = new URL(target.url)
  if (url.protocol !== 'http:') throw new Error(`only http: URLs, got ${target.url}`)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 80)
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, 'connection: keep-alive']
  for (const [k, v] of Object.entries(target.headers)) lines.push(`${k}: ${v}`)
  const request = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
  const conns: Connection[] = []
  return {
    async open(slots) {
      for (let i = 0; i < slots; i++) conns.push(new Connection(host, port, request, target.expectBody))
      await Promise.all(conns.map((c) => c.open()))
    },
    issue(slot, done) {
      ;(conns[slot] as Connection).issue(done)
    },
    reset(slot) {
      conns[slot]?.reset()
    },
    async close() {
      for (const c of conns) c.close()
    },
  }
}
