import { randomBytes } from 'node:crypto'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { setNoDelay } from '../controller/index.ts'
import type { Logger } from '../logger.ts'
import { presenceTopic, subscriptionsOf } from './topics.ts'

/** How the uplink reaches the central broker. */
export interface UplinkOptions {
  url: string
  localId: string
  /** username, password, ca, cert, key. */
  mqtt: IClientOptions
  log: Logger
  /** The retained will on `/fleet/<id>/presence`, computed at each (re)connect. */
  will: () => string
  /** Received publishes (retained ones too: presence is retained by design). */
  message: (topic: string, payload: Buffer) => void
  /** After each CONNACK and SUBACK; `at`: when the subscriptions were sent (retained messages come after it). */
  up: (at: number) => void
  /** The connection went away (it reconnects by itself). */
  down: (reason: string) => void
}

/** Pause before reconnect attempt `n` (0-based): 250 ms doubling up to 30 s, ±20 % jitter. */
export function uplinkBackoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 250 * 2 ** Math.min(attempt, 16))
  return Math.round(base * (0.8 + 0.4 * random()))
}

/**
 * The gateway's MQTT client on the fleet's central broker: its own client id (`<localId>-<8 hex>`, so a restarted
 * gateway never takes over the old session, whose will must fire), clean session, MQTT 3.1.1, QoS 1, the
 * retained offline will on its presence topic, reconnects forever with backoff. It never touches the local broker:
 * losing it changes nothing for local traffic.
 */
export class Uplink {
  readonly #client: MqttClient
  readonly #o: UplinkOptions
  #attempt = 0
  #connected = false
  #closed = false

  constructor(o: UplinkOptions) {
    this.#o = o
    this.#client = mqtt.connect(o.url, {
      clientId: `${o.localId}-${randomBytes(4).toString('hex')}`,
      clean: true,
      protocolVersion: 4,
      keepalive: 15,
      connectTimeout: 5000,
      reconnectPeriod: uplinkBackoffMs(0),
      will: { topic: presenceTopic(o.localId), payload: Buffer.from(o.will()), qos: 1, retain: true },
      ...o.mqtt,
    })
    this.#client.on('connect', () => {
      setNoDelay(this.#client) // a remote call is a chain of small packets: Nagle would hold each one back
      void this.#up()
    })
    this.#client.on('message', (topic, payload) => o.message(topic, payload))
    this.#client.on('close', () => this.#down('connection closed'))
    this.#client.on('error', (err) => o.log.warn({ err: err.message }, 'fleet uplink error'))
    this.#client.on('reconnect', () => {
      const will = this.#client.options.will
      if (will) will.payload = Buffer.from(o.will())
    })
  }

  get connected(): boolean {
    return this.#connected
  }

  async #up(): Promise<void> {
    // before the SUBSCRIBE: the retained presences it brings may be handled before subscribeAsync resolves
    const at = Date.now()
    try {
      await this.#client.subscribeAsync(subscriptionsOf(this.#o.localId), { qos: 1 })
    } catch (err) {
      this.#o.log.warn({ err: (err as Error).message }, 'fleet uplink: subscribing failed')
      return
    }
    this.#attempt = 0
    this.#client.options.reconnectPeriod = uplinkBackoffMs(0)
    this.#connected = true
    this.#o.log.info({ url: this.#o.url }, 'fleet uplink connected')
    this.#o.up(at)
  }

  #down(reason: string): void {
    this.#client.options.reconnectPeriod = uplinkBackoffMs(++this.#attempt)
    if (!this.#connected) return
    this.#connected = false
    if (!this.#closed) this.#o.log.warn({ url: this.#o.url, reason }, 'fleet uplink lost; reconnecting')
    this.#o.down(reason)
  }

  /** QoS 1; dropped (not queued) while disconnected: a stale request must not arrive minutes later. */
  publish(topic: string, payload: string, retain = false): boolean {
    if (!this.#connected) return false
    this.#client.publish(topic, payload, { qos: 1, retain })
    return true
  }

  /** Publishes `goodbye` (retained) when connected, then disconnects cleanly (no will). */
  async close(goodbye: string): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#connected) {
      await Promise.race([
        this.#client.publishAsync(presenceTopic(this.#o.localId), goodbye, { qos: 1, retain: true }),
        new Promise((r) => setTimeout(r, 1000)),
      ]).catch(() => undefined)
    }
    await this.#client.endAsync(!this.#connected).catch(() => undefined)
  }
}
