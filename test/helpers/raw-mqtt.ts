/**
 * Hand-built MQTT 3.1/3.1.1 CONNECT packets, malformed on purpose when asked (mqtt.js and mqtt-packet refuse to write
 * most of them), and one raw TCP exchange with a broker: what it answers and whether it closes the connection.
 */
import { connect } from 'node:net'

/** A CONNECT's fields; every flag can be set against the spec. */
export interface RawConnect {
  /** @default 'MQTT' */
  protocolName?: string
  /** Protocol level: 4 = 3.1.1, 3 = 3.1. @default 4 */
  level?: number
  /** @default true */
  clean?: boolean
  /** @default 'raw-client' */
  clientId?: string | Buffer
  /** @default 60 */
  keepalive?: number
  will?: { topic: string; payload?: string; qos?: number; retain?: boolean }
  username?: string
  /** Sets the password flag; alone (no `username`) it is the malformed case of [MQTT-3.1.2-22]. */
  password?: string
  /** Sets the reserved bit 0 of the connect flags, which must be 0 [MQTT-3.1.2-3]. */
  reserved?: boolean
}

const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s
  const len = Buffer.alloc(2)
  len.writeUInt16BE(b.length)
  return Buffer.concat([len, b])
}

/** The remaining-length varint of MQTT. */
function remainingLength(n: number): Buffer {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return Buffer.from(out)
}

/** The bytes of one CONNECT with `c`'s fields (flags exactly as given: nothing is corrected). */
export function connectPacket(c: RawConnect = {}): Buffer {
  let flags = 0
  if (c.reserved) flags |= 0x01
  if (c.clean ?? true) flags |= 0x02
  if (c.will) flags |= 0x04 | ((c.will.qos ?? 0) << 3) | (c.will.retain ? 0x20 : 0)
  if (c.password !== undefined) flags |= 0x40
  if (c.username !== undefined) flags |= 0x80
  const keepalive = Buffer.alloc(2)
  keepalive.writeUInt16BE(c.keepalive ?? 60)
  const body = Buffer.concat([
    str(c.protocolName ?? 'MQTT'),
    Buffer.from([c.level ?? 4, flags]),
    keepalive,
    str(c.clientId ?? 'raw-client'),
    ...(c.will ? [str(c.will.topic), str(c.will.payload ?? '')] : []),
    ...(c.username !== undefined ? [str(c.username)] : []),
    ...(c.password !== undefined ? [str(c.password)] : []),
  ])
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body])
}

/** What a broker did with a CONNECT. */
export interface RawOutcome {
  /** The CONNACK return code, or undefined when none came. */
  connack: number | undefined
  /** The CONNACK's session-present flag. */
  sessionPresent: boolean | undefined
  /** Whether the broker closed the connection (within the exchange's time bound). */
  closed: boolean
}

/**
 * Opens a TCP connection to `host:port`, writes `packet` and waits for the outcome: the connection closed, or a
 * CONNACK 0 (then `afterConnack` is written and the wait goes on until the close or `ms`), or `ms` passed. The socket is
 * destroyed before this resolves.
 */
export function rawExchange(
  port: number,
  packet: Buffer,
  options: { host?: string; afterConnack?: Buffer; ms?: number } = {},
): Promise<RawOutcome> {
  const { host = '127.0.0.1', afterConnack, ms = 3000 } = options
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port })
    let data = Buffer.alloc(0)
    let connack: number | undefined
    let sessionPresent: boolean | undefined
    let done = false
    const finish = (closed: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ connack, sessionPresent, closed })
    }
    const timer = setTimeout(() => finish(false), ms)
    socket.once('connect', () => socket.write(packet))
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      if (connack !== undefined || data.length < 4) return
      if (data[0] !== 0x20 || data[1] !== 2)
        return reject(new Error(`not a CONNACK: ${data.toString('hex')}`))
      sessionPresent = ((data[2] as number) & 1) === 1
      connack = data[3] as number
      if (connack !== 0) return
      if (afterConnack) socket.write(afterConnack)
      else finish(false)
    })
    socket.on('error', () => finish(true))
    socket.once('close', () => finish(true))
  })
}
