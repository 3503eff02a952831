/**
 * A raw MQTT bundle for wire-level tests of the registration rules (test/security/): one connection (with a broker
 * credential issued for `user` when the broker requires one), one random reply tunnel, everything received kept.
 * It registers with direct POSTs and can answer requests as the Python SDK does (echoing the request, `caller`
 * included).
 * @module
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import type { Envelope, JsonObject } from '../../src/protocol/index.ts'
import { type startTestGateway, waitFor } from './gateway.ts'
import { mqttConnect, within } from './processes.ts'
import { pyResponse } from './python-peer.ts'

export type TestGateway = Awaited<ReturnType<typeof startTestGateway>>

const REG = '/controller/registration'

/** A raw bundle: one connection, one reply tunnel, everything it receives kept. */
/** A message's `data` as an object (empty when it is none). */
export function dataOf(msg: Envelope): Record<string, unknown> {
  const d = msg.data
  return d !== null && typeof d === 'object' && !Array.isArray(d) ? d : {}
}

export class RawBundle {
  readonly received: Array<{ topic: string; msg: Envelope }> = []
  readonly replyTunnel = randomBytes(16).toString('hex')
  #id = 1 + Math.floor(Math.random() * 100_000)
  readonly client: MqttClient
  private constructor(client: MqttClient) {
    this.client = client
    client.on('message', (topic, payload) => {
      try {
        this.received.push({ topic, msg: JSON.parse(payload.toString()) as Envelope })
      } catch {
        // not JSON: nothing a bundle of ours would send
      }
    })
  }

  static async connect(gw: TestGateway, user: string | undefined): Promise<RawBundle> {
    let auth = {}
    if (user !== undefined && gw.brokerCredentials) {
      const c = gw.brokerCredentials.create(user)
      auth = { username: c.username, password: c.password }
    }
    const r = await mqttConnect(gw.brokerUrl, auth)
    assert.ok('client' in r, `${user} may connect`)
    const b = new RawBundle(r.client)
    await r.client.subscribeAsync(b.replyTunnel, { qos: 1 })
    return b
  }

  /** A direct request; resolves with the answer on the reply tunnel. */
  async call(method: string, resource: string, data?: unknown): Promise<Envelope> {
    const id = this.#id++
    const start = this.received.length
    const request: Envelope = { id, method, resource, tunnel: this.replyTunnel }
    if (data !== undefined) request.data = data as JsonObject
    await this.client.publishAsync('/controller', JSON.stringify(request), { qos: 1 })
    await within(
      waitFor(() => this.answerTo(id, start) !== undefined, 10_000, `the answer to ${method} ${resource}`),
      11_000,
      'answer',
    )
    return this.answerTo(id, start) as Envelope
  }

  answerTo(id: number, from = 0): Envelope | undefined {
    return this.received.slice(from).find((r) => r.topic === this.replyTunnel && r.msg.id === id)?.msg
  }

  /** Registers `name` and subscribes to its tunnel when it got one. */
  async register(name: string, role: string, resources: string[]): Promise<Envelope> {
    const reply = await this.call('post', `${REG}/${name}`, { description: name, role, ttl: 5, resources })
    if (reply.code === 200) await this.client.subscribeAsync(String(dataOf(reply).tunnel), { qos: 1 })
    return reply
  }

  /** Answers every request arriving on `tunnel` as the Python SDK does (echoing the request, `caller` included). */
  serve(tunnel: string, name: string, data: JsonObject): void {
    this.client.on('message', (topic, payload) => {
      if (topic !== tunnel) return
      const msg = JSON.parse(payload.toString()) as Envelope
      if (typeof msg.code === 'number') return // a final answer or an event, not a request
      void this.client.publishAsync('/controller', JSON.stringify(pyResponse(msg, name, 200, data)), {
        qos: 1,
      })
    })
  }

  on(topic: string): Envelope[] {
    return this.received.filter((r) => r.topic === topic).map((r) => r.msg)
  }

  close(): Promise<void> {
    return this.client.endAsync(true)
  }
}
