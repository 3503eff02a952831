/**
 * The MQTT load driver (case C): direct requests `{id, method, resource, tunnel}` published on `/controller`, the
 * answer awaited on our own reply tunnel, exactly as a bundle's `publish.get()` or `bundlegate request` does, over
 * one MQTT connection (as a bundle has) with TCP_NODELAY. No HTTP anywhere.
 * @module
 */
import { randomBytes, randomInt } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import type { Done, Driver } from './driver.ts'
import type { MqttTarget } from './load-spec.ts'

/** Ids of our SDK live in [2^20, 2^31−1] (wire-protocol.md §8.8); we count up from a random start. */
const ID_MIN = 1_048_576
const ID_SPAN = 2_147_483_647 - ID_MIN

export function mqttDriver(target: MqttTarget): Driver {
  const tunnel = `bench-${randomBytes(8).toString('hex')}`
  const pending = new Map<number, { slot: number; done: Done }>()
  const slotId: number[] = []
  let next = randomInt(0, ID_SPAN - 100_000_000)
  let client: MqttClient | undefined

  const onMessage = (_topic: string, payload: Buffer) => {
    let msg: { id?: unknown; code?: unknown; data?: unknown }
    try {
      msg = JSON.parse(payload.toString('utf8')) as typeof msg
    } catch {
      return
    }
    if (typeof msg.id !== 'number') return
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    if (msg.code !== 200) p.done(`code-${String(msg.code)}`)
    else if (target.expectData !== undefined && JSON.stringify(msg.data) !== target.expectData) p.done('body')
    else p.done()
  }

  return {
    async open() {
      const c = await mqtt.connectAsync(target.brokerUrl, {
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        keepalive: 30,
        protocolVersion: 4,
      })
      ;(c.stream as { setNoDelay?: (v: boolean) => void } | undefined)?.setNoDelay?.(true)
      client = c
      // QoS 0 like the SDK's reply tunnel: the controller's QoS 1 answer is delivered at QoS 0.
      await c.subscribeAsync(target.direct?.answerTopic ?? tunnel, { qos: 0 })
      c.on('message', onMessage)
    },
    issue(slot, done) {
      const c = client
      if (!c?.connected) {
        setImmediate(done, 'disconnected')
        return
      }
      const id = ID_MIN + (next++ % ID_SPAN)
      slotId[slot] = id
      pending.set(id, { slot, done })
      const payload = JSON.stringify({ id, method: target.method, resource: target.resource, tunnel })
      c.publish(target.direct?.requestTopic ?? '/controller', payload, { qos: target.qos }, (err) => {
        if (!err) return
        const p = pending.get(id)
        if (!p) return
        pending.delete(id)
        setImmediate(p.done, 'publish')
      })
    },
    reset(slot) {
      const id = slotId[slot]
      if (id !== undefined) pending.delete(id)
    },
    async close() {
      pending.clear()
      await client?.endAsync(true).catch(() => undefined)
    },
  }
}
