import type { Clock } from './clock.ts'
import type { Component } from './component.ts'

/** The sink the core writes to: one MQTT publish (QoS 1, no retain). */
export interface ControllerOutput {
  publish(topic: string, payload: string): void
}

/**
 * The held-message outbox: publishes to component tunnels, holding a component's messages while it has not
 * subscribed to its tunnel yet, at most `subscribeWaitMs` after its registration (a bundle that never reports it,
 * e.g. an original Python bundle on an external broker, is delayed only right after it registers).
 */
export class Outbox {
  readonly #out: ControllerOutput
  readonly #clock: Clock
  readonly #subscribeWaitMs: number
  readonly #held = new Map<string, { payloads: string[]; timer: unknown }>()

  constructor(out: ControllerOutput, clock: Clock, subscribeWaitMs: number) {
    this.#out = out
    this.#clock = clock
    this.#subscribeWaitMs = subscribeWaitMs
  }

  /** Publishes to any topic at once (reply tunnels, presence). */
  publish(topic: string, payload: string): void {
    this.#out.publish(topic, payload)
  }

  /** Publishes to a component's tunnel, or holds the message until it has subscribed. */
  publishTo(c: Component, payload: string): void {
    const tunnel = c.tunnel
    if (tunnel === undefined) return
    const waited = this.#clock.now() - c.registeredAt
    if (!c.subscribed && waited >= this.#subscribeWaitMs) c.subscribed = true // never reported: publish anyway
    if (c.subscribed) {
      this.#out.publish(tunnel, payload)
      return
    }
    let held = this.#held.get(tunnel)
    if (!held) {
      const timer = this.#clock.setTimeout(() => {
        c.subscribed = true // never reported: publish anyway
        this.release(tunnel)
      }, this.#subscribeWaitMs - waited)
      held = { payloads: [], timer }
      this.#held.set(tunnel, held)
    }
    held.payloads.push(payload)
  }

  /** The tunnel has a subscriber: what was held for it goes out, in order. */
  release(tunnel: string): void {
    const held = this.#held.get(tunnel)
    if (!held) return
    this.#held.delete(tunnel)
    this.#clock.clearTimeout(held.timer)
    for (const p of held.payloads) this.#out.publish(tunnel, p)
  }

  /** Drops everything held and its timers. */
  close(): void {
    for (const h of this.#held.values()) this.#clock.clearTimeout(h.timer)
    this.#held.clear()
  }
}
