import type { Aedes, Client, ConnectPacket } from 'aedes'
import type { Logger } from '../logger.ts'

/**
 * Why a CONNECT is refused before aedes 1.2 acts on it: with a CONNACK return code (then the connection closes), or
 * `close` for a malformed packet the spec answers with a closed connection only. Each names its MQTT 3.1.1 clause.
 */
export interface ConnectRefusal {
  returnCode: 1 | 2 | 'close'
  clause: string
  reason: string
}

/** The longest client id the embedded broker accepts (MQTT 3.1.1 guarantees 23, other SDKs use longer ones). */
export const MAX_CLIENT_ID_LENGTH = 128

const WILDCARD = /[#+]/
/**
 * The clause a string of a CONNECT breaks, if any: U+0000 [MQTT-1.5.3-2]; U+FFFD, what ill-formed UTF-8 becomes
 * (mqtt-packet decodes before any hook sees the bytes) [MQTT-1.5.3-1]; control characters U+0001–U+001F,
 * U+007F–U+009F and the non-characters of the BMP, which §1.5.3 lets a server refuse by closing (mosquitto does).
 */
function badString(s: string): string | undefined {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0) return 'MQTT-1.5.3-2'
    if (c === 0xfffd) return 'MQTT-1.5.3-1'
    if (c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c >= 0xfffe || (c >= 0xfdd0 && c <= 0xfdef))
      return 'MQTT-1.5.3 (may)'
  }
  return undefined
}

/**
 * The connect-path checks aedes 1.2 lacks (docs/protocol.md, "Connect-path conformance"), or `undefined` when the
 * CONNECT may go on. mqtt-packet already closes the connection for a bad protocol name, an unknown protocol level and
 * a set reserved flag; aedes for a second CONNECT.
 */
export function connectRefusal(
  packet: ConnectPacket,
  maxClientIdLength = MAX_CLIENT_ID_LENGTH,
): ConnectRefusal | undefined {
  const level = packet.protocolVersion
  const id = packet.clientId ?? ''
  if ((level === 4 && packet.protocolId !== 'MQTT') || (level === 3 && packet.protocolId !== 'MQIsdp'))
    return {
      returnCode: 1,
      clause: 'MQTT-3.1.2-1',
      reason: 'protocol name does not match the protocol level',
    }
  // the rest in the packet's order, as mosquitto checks: flags, client id, will topic, user name, password
  const will = packet.will
  if (will && (will.qos ?? 0) > 2)
    return { returnCode: 'close', clause: 'MQTT-3.1.2-14', reason: 'will QoS 3' }
  if (level === 4 && id === '' && packet.clean === false)
    return { returnCode: 2, clause: 'MQTT-3.1.3-8', reason: 'empty client id with a persistent session' }
  if (level === 3 && id === '')
    return { returnCode: 2, clause: 'MQTT-3.1.3-9', reason: 'empty client id (MQTT 3.1 requires one)' }
  if (id.length > maxClientIdLength)
    return { returnCode: 2, clause: 'MQTT-3.1.3-9', reason: `client id longer than ${maxClientIdLength}` }
  const badText =
    badString(id) ??
    (will ? badString(will.topic) : undefined) ??
    // MQTT 3.1 did not require user names to be UTF-8 text; mosquitto checks them for 3.1.1 only
    (level === 4 && packet.username !== undefined ? badString(packet.username) : undefined)
  if (badText)
    return { returnCode: 'close', clause: badText, reason: 'U+0000, a control character or ill-formed UTF-8' }
  if (will && (will.topic === '' || WILDCARD.test(will.topic)))
    return { returnCode: 'close', clause: 'MQTT-4.7.1-1', reason: 'will topic empty or with a wildcard' }
  if (packet.password !== undefined && packet.username === undefined)
    return { returnCode: 'close', clause: 'MQTT-3.1.2-22', reason: 'password flag without user name flag' }
  return undefined
}

/** Refusals of {@link installConnectGuard} since start. */
export interface ConnectGuardStats {
  connectsRejected: number
}

/**
 * Installs {@link connectRefusal} as aedes' `preConnect`: a refusal with a return code gets that CONNACK, then the
 * connection closes ([MQTT-3.1.3-8], [MQTT-3.2.2-5]); a malformed CONNECT is closed without one. Each refusal is
 * counted and logged, one warning per reason a minute, the rest at debug.
 */
export function installConnectGuard(
  aedes: Aedes,
  logger: Logger,
  maxClientIdLength = MAX_CLIENT_ID_LENGTH,
): { stats(): ConnectGuardStats } {
  const stats: ConnectGuardStats = { connectsRejected: 0 }
  const lastWarned = new Map<string, number>()
  const previous = aedes.preConnect.bind(aedes)
  aedes.preConnect = (client: Client, packet: ConnectPacket, done) => {
    const refusal = connectRefusal(packet, maxClientIdLength)
    if (!refusal) return previous(client, packet, done)
    stats.connectsRejected++
    const now = Date.now()
    const quiet = now - (lastWarned.get(refusal.clause) ?? Number.NEGATIVE_INFINITY) < 60_000
    if (!quiet) lastWarned.set(refusal.clause, now) // one key per clause: the map stays tiny
    logger[quiet ? 'debug' : 'warn'](
      { clause: refusal.clause, reason: refusal.reason, clientId: packet.clientId?.slice(0, 64) },
      'MQTT CONNECT refused',
    )
    const err = new Error(`CONNECT refused [${refusal.clause}]: ${refusal.reason}`)
    if (refusal.returnCode === 'close') return done(err, false)
    // CONNACK (0x20, length 2, no session present, the code), written before aedes closes the connection
    const conn = (client as unknown as { conn: NodeJS.WritableStream }).conn
    conn.write(Buffer.from([0x20, 0x02, 0x00, refusal.returnCode]), () => done(err, false))
  }
  return { stats: () => ({ ...stats }) }
}
