import { createError } from '../errors.ts'
import { CONTROLLER_SIGN, type Envelope, IdGenerator, type Json, WIRE_TEXT } from '../protocol/index.ts'
import type { Method, ResponseMessage } from './message.ts'
import { currentRequestId } from './request-context.ts'

/** Options of one request. */
export interface PublishOptions {
  /** How long to wait for the answer. @default 60000 (the Python SDK's 60 s) */
  timeoutMs?: number
}

type RequestFn = (resource: string, data?: Json, options?: PublishOptions) => Promise<ResponseMessage>
type EventFn = (resource: string, data?: Json, code?: number) => Promise<void>

/** `publish.get|post|put|delete`, `publish.direct.*` and `publish.event.*`. */
export interface Publish {
  get: RequestFn
  post: RequestFn
  put: RequestFn
  delete: RequestFn
  /** The same direct requests, under the Python SDK's name. */
  direct: { get: RequestFn; post: RequestFn; put: RequestFn; delete: RequestFn }
  /** Publishes an EVENT (not a request): it reaches every view of the resource and is never answered. */
  event: { get: EventFn; post: EventFn; put: EventFn; delete: EventFn }
}

interface Pending {
  resolve: (m: ResponseMessage) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
  message: Envelope
  retried: boolean
}

/** What the publisher needs from the connection. */
export interface PublisherTransport {
  /** The reply tunnel this bundle subscribes to. */
  readonly replyTunnel: string
  send(payload: string): Promise<void>
}

const METHODS: readonly Method[] = ['get', 'post', 'put', 'delete']

/**
 * Requests to other bundles, always **direct** (wire-protocol.md §8.1): the answer comes back on our reply tunnel.
 * Ids follow §8.8 [WP-58]; a 403 "'id' was used" from the controller is resent once with a fresh id.
 */
export class Publisher {
  readonly #transport: PublisherTransport
  readonly #pending = new Map<number, Pending>()
  readonly #ids = new IdGenerator()
  readonly publish: Publish

  constructor(transport: PublisherTransport) {
    this.#transport = transport
    const request = {} as Publish['direct']
    const event = {} as Publish['event']
    for (const m of METHODS) {
      request[m] = (resource, data, options) => this.request(m, resource, data, options)
      event[m] = (resource, data, code = 200) => this.event(m, resource, data, code)
    }
    this.publish = { ...request, direct: request, event }
  }

  /** Sends a direct request and resolves with the answer, whatever its code. */
  request(
    method: string,
    resource: string,
    data?: Json,
    options: PublishOptions = {},
  ): Promise<ResponseMessage> {
    const timeoutMs = options.timeoutMs ?? 60_000
    return new Promise((resolve, reject) => {
      const id = this.#ids.next((n) => this.#pending.has(n))
      const message: Envelope = { id, method, resource, tunnel: this.#transport.replyTunnel }
      if (data !== undefined) message.data = data
      const requestId = currentRequestId() // [WP-61] called from a handler: the request it serves
      if (requestId !== undefined) message.requestId = requestId
      const timer = setTimeout(() => {
        this.#pending.delete(message.id as number)
        reject(createError('GW_ERR_REQUEST_TIMEOUT', [method.toUpperCase(), resource, timeoutMs]))
      }, timeoutMs)
      timer.unref()
      this.#pending.set(id, { resolve, reject, timer, message, retried: false })
      this.#transport.send(JSON.stringify(message)).catch((err: Error) => this.#fail(id, err))
    })
  }

  /** Publishes an EVENT `{resource, method, code, data}` (§6 item 10); always with a code [§3.2]. */
  event(method: string, resource: string, data: Json | undefined, code: number): Promise<void> {
    const message: Envelope = { resource, method, code, data: data === undefined ? null : data }
    return this.#transport.send(JSON.stringify(message))
  }

  /** Offers a RESPONSE; returns false when it answers nothing we asked. */
  resolve(message: Envelope): boolean {
    const id = message.id as number
    const p = this.#pending.get(id)
    if (!p) return false
    this.#pending.delete(id)
    const sign = Array.isArray(message.sign) ? (message.sign as string[]) : []
    if (
      message.code === 403 &&
      !p.retried &&
      sign.length === 1 &&
      sign[0] === CONTROLLER_SIGN &&
      (message.data as { message?: unknown } | null)?.message === WIRE_TEXT.idUsed
    ) {
      // §8.8: resend once with a fresh id.
      const fresh = this.#ids.next((n) => this.#pending.has(n))
      const resend = { ...p.message, id: fresh }
      this.#pending.set(fresh, { ...p, message: resend, retried: true })
      this.#transport.send(JSON.stringify(resend)).catch((err: Error) => this.#fail(fresh, err))
      return true
    }
    clearTimeout(p.timer)
    p.resolve({
      id,
      code: message.code as number,
      method: String(message.method),
      resource: String(message.resource),
      data: message.data,
      sign,
      raw: message,
    })
    return true
  }

  get pending(): number {
    return this.#pending.size
  }

  /** Rejects every pending request (the bundle stops). */
  rejectAll(err: Error): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer)
      p.reject(err)
      this.#pending.delete(id)
    }
  }

  #fail(id: number, err: Error): void {
    const p = this.#pending.get(id)
    if (!p) return
    this.#pending.delete(id)
    clearTimeout(p.timer)
    p.reject(err)
  }
}
