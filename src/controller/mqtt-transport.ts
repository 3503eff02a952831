import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { Logger } from '../logger.ts'
import { CLIENT_PRESENCE_FILTER, PRESENCE_TOPIC } from '../protocol/index.ts'
import type { ControllerCore } from './controller-core.ts'

/** Options for running the controller against an external broker. */
export interface ExternalBrokerOptions {
  /** `mqtt://host:port`, `mqtts://…`, `ws://…`. */
  url: string
  /** Extra mqtt.js options: username, password, ca, cert, key, rejectUnauthorized, protocolVersion. */
  mqtt?: IClientOptions
}

/** A deferred output: publishes are handed to the client once it exists (mqtt.js queues them while offline). */
export class DeferredOutput {
  client: MqttClient | undefined
  publish(topic: string, payload: string): void {
    this.client?.publish(topic, payload, { qos: 1, retain: false })
  }
}

/**
 * Connects the controller to an external broker (§2.2: client id `controller`, clean session, subscriptions at
 * QoS 2, publishes at QoS 1). Its will announces `offline` on `/controller/presence`; after every (re)connect it
 * subscribes again and announces `online` (§8.4). The registry lives on across reconnects [WP-44].
 */
export async function connectExternal(
  options: ExternalBrokerOptions,
  core: ControllerCore,
  output: DeferredOutput,
  log: Logger,
): Promise<MqttClient> {
  const client = mqtt.connect(options.url, {
    clientId: 'controller',
    clean: true,
    reconnectPeriod: 500,
    connectTimeout: 5000,
    keepalive: 30,
    protocolVersion: 4,
    ...options.mqtt,
    // We subscribe ourselves after every connect and announce `online` only in the SUBACK callback (§8.4). With
    // mqtt.js's own resubscription the topics are already known to it, so our subscribe() would call back at once,
    // before any SUBACK, and `online` could go out before the subscription is in place.
    resubscribe: false,
    will: {
      topic: PRESENCE_TOPIC,
      payload: Buffer.from(core.presenceMessage('offline')),
      qos: 1,
      retain: false,
    },
  })
  output.client = client
  client.on('connect', () => {
    setNoDelay(client)
    const subs: Record<string, { qos: 0 | 1 | 2 }> = { [CLIENT_PRESENCE_FILTER]: { qos: 1 } }
    for (const t of core.topics) subs[t] = { qos: 2 }
    client.subscribe(subs, (err) => {
      if (err) {
        log.error({ err }, 'controller subscribe failed')
        return
      }
      log.info({ url: options.url }, 'controller connected to broker')
      core.announce() // [WP-45] after the SUBACK: a bundle that reacts to it reaches a subscribed controller
    })
  })
  client.on('message', (topic, payload, packet) =>
    core.handleMessage(topic, payload, { retain: packet.retain }),
  )
  client.on('offline', () => log.warn({ url: options.url }, 'controller lost the broker, reconnecting'))
  client.on('error', (err) => log.warn({ err: err.message }, 'controller MQTT error'))
  // Keeps retrying (the broker may start after us); the caller bounds the wait.
  if (!client.connected) await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  setNoDelay(client)
  return client
}

/** TCP_NODELAY on the client's socket, when it is a TCP socket. */
export function setNoDelay(client: MqttClient): void {
  const s = client.stream as { setNoDelay?: (v: boolean) => void } | undefined
  s?.setNoDelay?.(true)
}
