import { ControllerCore, type ControllerCoreOptions } from '../../src/controller/index.ts'
import type { Envelope, Json } from '../../src/protocol/index.ts'
import { FakeClock } from './fake-clock.ts'

/** One message the controller published. */
export interface Published {
  topic: string
  msg: Envelope
}

/** Options of a component registered through the harness. */
export interface RegisterOptions {
  role?: string
  resources?: string[] | string
  hook?: string[] | string
  ttl?: number
  clientId?: string
  data?: Record<string, unknown>
}

/**
 * A controller core on a fake clock with a recording output. Messages are fed as if they came over MQTT from
 * `clientId` (embedded-broker style), so liveness binding works.
 */
export class Harness {
  readonly clock = new FakeClock()
  readonly out: Published[] = []
  readonly core: ControllerCore
  readonly tunnels = new Map<string, string>()
  #nextId = 1
  #nextTunnel = 1000

  constructor(options: ControllerCoreOptions = {}) {
    this.core = new ControllerCore(
      { publish: (topic, payload) => this.out.push({ topic, msg: JSON.parse(payload) as Envelope }) },
      {
        clock: this.clock,
        instance: '0123456789abcdef',
        tunnelSource: () => String(this.#nextTunnel++),
        ...options,
      },
    )
  }

  /** Publishes a message on /controller; `null` as publisher means "the broker does not tell" (external broker). */
  send(msg: Envelope | string, clientId: string | null = 'client-1', topic = '/controller'): void {
    const payload = typeof msg === 'string' ? msg : JSON.stringify(msg)
    this.core.handleMessage(topic, payload, { clientId: clientId ?? undefined })
  }

  /** A fresh Python-style id. */
  id(): number {
    return this.#nextId++
  }

  /** Every message published to `topic` since the last take, removed from the record. */
  take(topic: string): Envelope[] {
    const mine = this.out.filter((p) => p.topic === topic)
    const rest = this.out.filter((p) => p.topic !== topic)
    this.out.length = 0
    this.out.push(...rest)
    return mine.map((p) => p.msg)
  }

  /** Takes the single message published to `topic`; fails when there is not exactly one. */
  one(topic: string): Envelope {
    const got = this.take(topic)
    if (got.length !== 1)
      throw new Error(`expected one message on ${topic}, got ${got.length}: ${JSON.stringify(got)}`)
    return got[0] as Envelope
  }

  /** Registers a component with a direct POST and returns the reply. */
  post(name: string, o: RegisterOptions = {}, replyTo = `reply-${name}`): Envelope {
    const data: Record<string, unknown> = {
      name,
      description: `${name} bundle`,
      role: o.role ?? 'model',
      ttl: o.ttl ?? 10,
      resources: o.resources ?? [`/${name}`],
      ...o.data,
    }
    if (o.hook !== undefined) data.hook = o.hook
    this.send(
      {
        id: this.id(),
        method: 'post',
        resource: '/controller/registration',
        tunnel: replyTo,
        data,
      } as Envelope,
      o.clientId ?? `client-${name}`,
    )
    return this.one(replyTo)
  }

  /** Registers and returns the component tunnel; throws when refused. */
  register(name: string, o: RegisterOptions = {}): string {
    const reply = this.post(name, o)
    const tunnel = (reply.data as { tunnel?: string } | undefined)?.tunnel
    if (reply.code !== 200 || !tunnel)
      throw new Error(`registration of ${name} failed: ${JSON.stringify(reply)}`)
    this.tunnels.set(name, tunnel)
    return tunnel
  }

  /** The tunnel of a registered component. */
  tunnel(name: string): string {
    const t = this.tunnels.get(name)
    if (!t) throw new Error(`${name} is not registered through the harness`)
    return t
  }

  /** A model's answer to a request it received, as the Python SDK builds it (sign appended). */
  answer(request: Envelope, code: number, data: unknown, bundle: string): void {
    const resp: Envelope = { ...request }
    delete resp.tunnel
    resp.code = code
    resp.data = data as Json
    resp.sign = Array.isArray(request.sign) ? [...request.sign, bundle] : [bundle]
    this.send(resp, `client-${bundle}`)
  }
}
