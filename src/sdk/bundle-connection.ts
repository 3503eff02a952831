/**
 * A bundle's MQTT connection: connecting with its will, the subscriptions after each (re)connect, the component
 * tunnels of the registration, the publish window towards the controller and the goodbye on the way out.
 * @module
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { Logger } from '../logger.ts'
import { clientPresenceTopic, PRESENCE_TOPIC } from '../protocol/index.ts'
import type { BundleOptions } from './bundle-options.ts'
import { brokerCredentialsFromEnv, brokerTlsFromEnv, brokerUrlFromEnv, publishQosFromEnv } from './env.ts'
import { PublishWindow } from './publish-window.ts'

/** What the connection needs from its bundle. */
export interface BundleConnectionDeps {
  readonly clientId: string
  readonly replyTunnel: string
  /** Role → tunnel of the current registration, kept in step with the subscriptions here. */
  readonly tunnels: Map<'model' | 'view', string>
  readonly options: Pick<BundleOptions, 'brokerUrl' | 'mqtt' | 'publishQos'>
  /** The bundle's logger (it gets the bundle's name once the manifest is loaded). */
  log(): Logger
  onMessage(topic: string, payload: Buffer): void
  /** After each (re)connect, once the subscriptions are asked for: runs the registration. */
  onConnect(): void
}

/** The connection of a started bundle: made by the constructor, reconnecting until close(). */
export class BundleConnection {
  readonly #deps: BundleConnectionDeps
  readonly #client: MqttClient
  readonly #window: PublishWindow

  constructor(deps: BundleConnectionDeps) {
    this.#deps = deps
    const url = deps.options.brokerUrl ?? brokerUrlFromEnv()
    this.#log.debug({ url }, 'connecting to broker')
    const will = { clientId: deps.clientId, state: 'offline' }
    const client = mqtt.connect(url, {
      clientId: deps.clientId,
      clean: true,
      reconnectPeriod: 500, // back within ~0.5 s of the broker (the controller uses the same period)
      connectTimeout: 5000,
      keepalive: 30,
      protocolVersion: 4,
      ...brokerCredentialsFromEnv(), // BROKER_USERNAME / BROKER_PASSWORD (docs/security.md)
      ...brokerTlsFromEnv(), // BROKER_CA_FILE / BROKER_CERT_FILE / BROKER_KEY_FILE (docs/external-broker.md)
      ...deps.options.mqtt,
      // [WP-47] the will tells the controller we are gone (external brokers).
      will: {
        topic: clientPresenceTopic(deps.clientId),
        payload: Buffer.from(JSON.stringify(will)),
        qos: 1,
        retain: false,
      },
    })
    this.#client = client
    this.#window = new PublishWindow(client, deps.options.publishQos ?? publishQosFromEnv())
    client.on('connect', () => this.#onConnect(client, url))
    client.on('message', (topic, payload) => deps.onMessage(topic, payload))
    client.on('offline', () => this.#log.warn({ url }, 'broker connection lost, reconnecting'))
    client.on('error', (err) => this.#log.warn({ url, err: err.message }, 'broker connection error'))
  }

  get #log(): Logger {
    return this.#deps.log()
  }

  #onConnect(client: MqttClient, url: string): void {
    ;(client.stream as { setNoDelay?: (v: boolean) => void } | undefined)?.setNoDelay?.(true)
    this.#log.debug({ url }, 'connection established')
    // Our reply tunnel, the controller's presence (QoS 1, §8.4) and the tunnels we already hold (§4.6 step 1).
    const subs: Record<string, { qos: 0 | 1 }> = {
      [this.#deps.replyTunnel]: { qos: 0 },
      [PRESENCE_TOPIC]: { qos: 1 },
    }
    for (const topic of Object.keys(subs)) this.#log.debug({ topic }, 'subscribe')
    client.subscribe(subs, (err) => {
      if (err) this.#log.error({ err }, 'subscribe failed')
    })
    // Apart: a broker with an ACL refuses tunnels the controller no longer knows (it restarted); that is expected,
    // and the registration below brings new ones.
    const held = [...new Set(this.#deps.tunnels.values())]
    if (held.length > 0) {
      for (const topic of held) this.#log.debug({ topic }, 'subscribe')
      client.subscribe(held, { qos: 0 }, (err) => {
        if (err) this.#log.debug({ err: err.message, topics: held }, 'previous tunnels not granted')
      })
    }
    this.#deps.onConnect()
  }

  /** Subscribes the tunnel of `role` (rejects when the broker refuses it) and drops the previous one. */
  async swapTunnel(role: 'model' | 'view', tunnel: string): Promise<void> {
    const client = this.#client
    const previous = this.#deps.tunnels.get(role)
    this.#deps.tunnels.set(role, tunnel)
    if (previous !== tunnel) {
      this.#log.debug({ topic: tunnel }, 'subscribe')
      await client.subscribeAsync(tunnel, { qos: 0 }) // rejects when the broker refuses it (SUBACK 0x80)
    }
    this.#saySubscribed(client, tunnel)
    if (previous === tunnel) return
    if (previous !== undefined && ![...this.#deps.tunnels.values()].includes(previous)) {
      this.#log.debug({ topic: previous }, 'unsubscribe')
      await client.unsubscribeAsync(previous).catch(() => undefined)
    }
  }

  /**
   * Bundlegate only (docs/protocol.md, Choices): after the SUBACK of a component tunnel, tell the controller on our
   * own presence topic (§2.1, §8.3) that the tunnel is listened to, so that it stops holding messages for it. MQTT
   * keeps a connection's packets in order, so the subscription is in place before the controller reads this. The
   * original controller never subscribes presence topics and sees nothing.
   */
  #saySubscribed(client: MqttClient, tunnel: string): void {
    const payload = JSON.stringify({ clientId: this.#deps.clientId, state: 'subscribed', tunnel })
    client.publish(clientPresenceTopic(this.#deps.clientId), payload, { qos: 1 }, (err) => {
      if (err) this.#log.debug({ err: err.message, tunnel }, 'subscribed notice not sent')
    })
  }

  /** Publishes a message to the controller, through the publish window. */
  send(payload: string): Promise<void> {
    return this.#window.publish('/controller', payload)
  }

  /** Says goodbye on the presence topic when connected (§8.3), then disconnects, forced after 2 s. */
  async close(): Promise<void> {
    const client = this.#client
    if (client.connected) {
      // §8.3: a clean disconnect suppresses the will, so say it ourselves.
      const bye = JSON.stringify({ clientId: this.#deps.clientId, state: 'offline' })
      await within(client.publishAsync(clientPresenceTopic(this.#deps.clientId), bye, { qos: 1 }), 1000)
    }
    await endWithin(client, 2000)
  }

  /** Closes at once, no reconnects (it may still be connecting). */
  destroy(): void {
    this.#client.end(true)
  }
}

/** Waits for `p` at most `ms`; failures and lateness are ignored (used on the way out). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    p.catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ])
  clearTimeout(timer)
}

/** Ends the MQTT connection, forcing it after `ms` (a broker that is gone never acknowledges). */
async function endWithin(client: MqttClient, ms: number): Promise<void> {
  await within(client.endAsync(), ms)
  if (!client.disconnected) client.end(true)
}
