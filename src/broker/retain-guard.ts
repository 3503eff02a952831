import type { Aedes } from 'aedes'
import type { Logger } from '../logger.ts'

/** Our controller's tunnels (decimal, §4.2) and the SDKs' reply tunnels (32 hex digits, §4.6). */
const TUNNEL_SHAPE = /^(\d{1,10}|[0-9a-f]{32})$/

/**
 * Whether `topic` is one of the protocol's control topics (wire-protocol.md §2.1, §2.2): `/controller` and everything
 * below it (the presence topics included), `/<localId>/controller`, and topics shaped like a component or reply
 * tunnel. The protocol needs no retained message on any of them.
 */
export function isControlTopic(topic: string, localId?: string): boolean {
  if (topic === '/controller' || topic.startsWith('/controller/')) return true
  if (localId !== undefined && topic === `/${localId}/controller`) return true
  return TUNNEL_SHAPE.test(topic)
}

/** Publishes whose retain flag was cleared, for tests and health listings. */
export interface RetainGuard {
  stats(): { retainCleared: number }
}

/** One warning per this many ms at most; the rest are counted. */
const WARN_EVERY_MS = 10_000

/**
 * Clears the retain flag of every publish (and will) on a control topic, before any other publish check, with broker
 * authentication on or off. The message is still delivered, once, to the clients subscribed now (as mosquitto
 * delivers a live retained publish: retain 0 to existing subscribers), but never stored: a retained fake presence or
 * request could otherwise be replayed to every bundle that subscribes later, at every reconnect. Clearing instead of
 * refusing keeps a peer that sets retain working (MQTT 3.1.1 has no negative PUBACK: a refusal closes the
 * connection). Wraps the `authorizePublish` in place (the ACL's, or aedes' default).
 */
export function installRetainGuard(
  aedes: Aedes,
  options: { localId?: string | undefined; logger: Logger },
): RetainGuard {
  const log = options.logger
  const inner = aedes.authorizePublish.bind(aedes)
  let cleared = 0
  let lastWarn = Number.NEGATIVE_INFINITY
  let unwarned = 0
  aedes.authorizePublish = (client, packet, done) => {
    if (packet.retain && client && isControlTopic(packet.topic, options.localId)) {
      packet.retain = false
      cleared++
      const now = Date.now()
      if (now - lastWarn >= WARN_EVERY_MS) {
        log.warn(
          { clientId: client.id, topic: packet.topic, suppressed: unwarned },
          'retain flag cleared on a control topic (the protocol uses no retained messages)',
        )
        lastWarn = now
        unwarned = 0
      } else unwarned++
    }
    inner(client, packet, done)
  }
  return { stats: () => ({ retainCleared: cleared }) }
}
