import type { MqttClient } from 'mqtt'

interface Queued {
  topic: string
  payload: string
  resolve: () => void
  reject: (err: Error) => void
}

/** At most this many QoS 1 or 2 publishes unacknowledged per connection (wire-protocol.md §2.2). */
export const MAX_INFLIGHT_QOS2 = 20

/**
 * Publishes at the bundle's QoS (1 by default, §2.2) with a window: some brokers silently discard publishes beyond
 * their receive window, so we keep at most {@link MAX_INFLIGHT_QOS2} unacknowledged and queue the rest in order.
 */
export class PublishWindow {
  readonly #client: MqttClient
  readonly #limit: number
  readonly #qos: 0 | 1 | 2
  readonly #queue: Queued[] = []
  #inflight = 0

  constructor(client: MqttClient, qos: 0 | 1 | 2 = 1, limit = MAX_INFLIGHT_QOS2) {
    this.#client = client
    this.#qos = qos
    this.#limit = limit
  }

  /** Resolves once the broker has the message (PUBACK at QoS 1, PUBCOMP at QoS 2, at once at QoS 0). */
  publish(topic: string, payload: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ topic, payload, resolve, reject })
      this.#pump()
    })
  }

  get inflight(): number {
    return this.#inflight
  }

  get queued(): number {
    return this.#queue.length
  }

  #pump(): void {
    while (this.#inflight < this.#limit && this.#queue.length > 0) {
      const q = this.#queue.shift() as Queued
      this.#inflight++
      this.#client.publish(q.topic, q.payload, { qos: this.#qos, retain: false }, (err) => {
        this.#inflight--
        if (err) q.reject(err)
        else q.resolve()
        this.#pump()
      })
    }
  }
}
