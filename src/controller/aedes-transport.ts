import type { Aedes, AedesPublishPacket, Client } from 'aedes'
import { CONTROLLER_TOPIC, presenceClientId } from '../protocol/index.ts'
import type { ControllerCore } from './controller-core.ts'

/**
 * Runs the controller inside the embedded broker: it sees every publish with its publisher (liveness binding,
 * §8.3) and learns of every disconnect directly. Publishes go straight into aedes, with no socket hop.
 */
export function attachToAedes(aedes: Aedes, core: ControllerCore): () => void {
  const topics = new Set(core.topics)
  const onPublish = (packet: AedesPublishPacket, client: Client | null) => {
    if (!client) return // our own publishes
    const topic = packet.topic
    if (topics.has(topic) || (topic.startsWith(`${CONTROLLER_TOPIC}/presence/`) && presenceClientId(topic))) {
      core.handleMessage(topic, packet.payload as Buffer, { clientId: client.id, retain: packet.retain })
    }
  }
  const onDisconnect = (client: Client) => {
    if (client.id) core.clientGone(client.id)
  }
  const onSubscribe = (subscriptions: Array<{ topic: string }>) => {
    for (const s of subscriptions) core.tunnelSubscribed(s.topic)
  }
  aedes.on('publish', onPublish)
  aedes.on('clientDisconnect', onDisconnect)
  aedes.on('subscribe', onSubscribe)
  return () => {
    aedes.removeListener('publish', onPublish)
    aedes.removeListener('clientDisconnect', onDisconnect)
    aedes.removeListener('subscribe', onSubscribe)
  }
}

/** The controller's output into aedes: QoS 1, no retain (§2.2). */
export function aedesOutput(aedes: Aedes): { publish(topic: string, payload: string): void } {
  return {
    publish(topic, payload) {
      aedes.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: false, dup: false },
        () => {},
      )
    },
  }
}
