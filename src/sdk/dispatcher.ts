/**
 * What a bundle does with each message from the broker: drop or answer what cannot be parsed, hand presence to the
 * registration, route requests to their handlers and answer them, and deliver events to event handlers.
 * @module
 */
import { DropLog } from '../drop-log.ts'
import { GatewayError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import {
  bundleResponse,
  classifySdk,
  type Envelope,
  isObject,
  type Json,
  type ParseOptions,
  PRESENCE_TOPIC,
  parsePayload,
  requestIdOf,
  tooDeepAnswer,
} from '../protocol/index.ts'
import { BundleError } from './bundle-error.ts'
import { fileFields, withUploadTarget } from './files.ts'
import { encodeResponse, TOO_DEEP_DROP, tooDeepRequest } from './intake-guard.ts'
import type { Answer, EventMessage, RequestHandler, RequestMessage, Respond } from './message.ts'
import type { Publisher } from './publisher.ts'
import { withRequestId } from './request-context.ts'
import { queryOf, type RouteMatch, type Router } from './router.ts'

/** What the dispatcher needs from its bundle. */
export interface DispatcherDeps {
  readonly router: Router
  readonly publisher: Publisher
  /** The bundle's logger (it gets the bundle's name once the manifest is loaded). */
  log(): Logger
  /** The manifest name, for the answers' `sign`. */
  name(): string
  send(payload: string): Promise<void>
  /** Put stack traces in 500 answers. */
  readonly debug: boolean
  readonly parse: ParseOptions
  /** The controller's presence messages ([WP-45][WP-46]). */
  onPresence(msg: Envelope): void
}

/** Dispatches a bundle's incoming messages (the MQTT client's `message` event). */
export class Dispatcher {
  readonly #deps: DispatcherDeps
  #dropLog: DropLog | undefined

  constructor(deps: DispatcherDeps) {
    this.#deps = deps
  }

  get #log(): Logger {
    return this.#deps.log()
  }

  onMessage(topic: string, payload: Buffer): void {
    const parsed = parsePayload(payload, this.#deps.parse)
    if (!parsed.ok && parsed.reason === 'too-deep') {
      // §8.9: never parsed; a request is answered 400 from its shallow head, anything else dropped and counted
      this.#dropLog ??= new DropLog(this.#log)
      this.#dropLog.drop(TOO_DEEP_DROP, { topic, depth: parsed.depth, limit: parsed.limit })
      const request = tooDeepRequest(parsed)
      if (request) this.#answer(request, { code: 400, data: tooDeepAnswer(parsed.depth, parsed.limit) })
      return
    }
    if (!parsed.ok) {
      this.#log.debug({ topic, reason: parsed.reason }, 'message dropped')
      return
    }
    const msg = parsed.message
    if (topic === PRESENCE_TOPIC) {
      this.#deps.onPresence(msg)
      return
    }
    // [§3.2] the SDK rule; REQUEST, DIRECT and HOOK go to request handlers.
    switch (classifySdk(msg)) {
      case 'RESPONSE':
        if (!this.#deps.publisher.resolve(msg)) this.#dispatchEvent(stripForEvent(msg)) // §6 item 5: how views observe
        return
      case 'REQUEST':
      case 'DIRECT':
      case 'HOOK':
        this.#dispatchRequest(msg)
        return
      case 'EVENT':
        this.#dispatchEvent(msg)
        return
      default:
        this.#log.debug({ topic }, 'unknown message type dropped')
    }
  }

  #dispatchRequest(raw: Envelope): void {
    const method = String(raw.method).toLowerCase()
    const resource = String(raw.resource)
    const matches = this.#deps.router.routes(method, resource)
    if (matches.length === 0) {
      this.#answer(raw, { code: 404, data: { message: `Route '${resource}' not found.` } })
      return
    }
    const query = queryOf(resource)
    for (const m of matches) void this.#invoke(m, raw, method, resource, query)
  }

  async #invoke(
    m: RouteMatch<RequestHandler>,
    raw: Envelope,
    method: string,
    resource: string,
    query: ReturnType<typeof queryOf>,
  ): Promise<void> {
    let answered = false
    const requestId = requestIdOf(raw) // [WP-61]
    const respond: Respond = (answer: Answer = {}) => {
      if (answered) {
        this.#log.warn(
          { resource, method, requestId },
          'response() called twice; the second answer is dropped',
        )
        return
      }
      answered = true
      this.#answer(raw, answer)
    }
    if (m.validate && !m.validate(raw.data)) {
      const errors = m.validate.errors ?? []
      const message = errors.map((e) => `data${e.instancePath} ${e.message ?? 'is invalid'}`).join(', ')
      respond({ code: 400, data: { message, errors: JSON.parse(JSON.stringify(errors)) as Json } })
      return
    }
    const message: RequestMessage = {
      id: raw.id as number,
      method,
      resource,
      data: raw.data,
      param: m.param,
      query,
      caller: isObject(raw.caller) ? (raw.caller as unknown as RequestMessage['caller']) : undefined,
      sign: Array.isArray(raw.sign) ? (raw.sign as string[]) : undefined,
      requestId,
      raw,
      ...fileFields(raw.data),
    }
    this.#log.debug({ resource, method, requestId }, 'request')
    try {
      const result = await withRequestId(requestId, () =>
        withUploadTarget(message.upload, () => m.handler(message, respond)),
      )
      if (!answered) respond({ data: result === undefined ? null : (result as Json) })
    } catch (err) {
      if (answered) {
        this.#log.error({ err, resource, method, requestId }, 'handler failed after answering')
        return
      }
      if (err instanceof BundleError) {
        respond({ code: err.code, data: { ...err.data, message: err.message } })
        return
      }
      this.#log.error({ err, resource, method, requestId }, 'handler failed')
      if (err instanceof GatewayError) {
        // One of our own errors (e.g. GW_ERR_STORE_WRITE on a full disk): its status and `{message, code}`, so the
        // caller sees the cause (docs/errors.md).
        const status = err.statusCode >= 400 && err.statusCode <= 599 ? err.statusCode : 500
        const data: Record<string, Json> = { message: err.message, code: err.code }
        if (this.#deps.debug) data.traceback = err.stack ?? String(err)
        respond({ code: status, data })
        return
      }
      const data: Record<string, Json> = { message: 'Internal Error.' }
      if (this.#deps.debug) data.traceback = err instanceof Error ? (err.stack ?? String(err)) : String(err)
      respond({ code: 500, data })
    }
  }

  #answer(request: Envelope, answer: Answer): void {
    const response = bundleResponse(request, answer.code ?? 200, answer.data, this.#deps.name())
    const text = encodeResponse(response, (err) => this.#log.error({ err }, 'answer cannot be serialised'))
    this.#deps.send(text).catch((err: unknown) => this.#log.warn({ err }, 'answer not sent'))
  }

  #dispatchEvent(raw: Envelope): void {
    if (typeof raw.method !== 'string' || typeof raw.resource !== 'string') return
    const method = raw.method.toLowerCase()
    const matches = this.#deps.router.events(method, raw.resource)
    if (matches.length === 0) return
    const query = queryOf(raw.resource)
    for (const m of matches) {
      const message: EventMessage = {
        method,
        resource: raw.resource,
        code: typeof raw.code === 'number' ? raw.code : undefined,
        data: raw.data,
        param: m.param,
        query,
        raw,
      }
      Promise.resolve()
        .then(() => m.handler(message))
        .catch((err: unknown) => this.#log.error({ err, resource: raw.resource }, 'event handler failed'))
    }
  }
}

/** §6 item 5: a response nobody waits for becomes an event without id, sign, tunnel, query and param. */
function stripForEvent(msg: Envelope): Envelope {
  const out: Envelope = { ...msg }
  delete out.id
  delete out.sign
  delete out.tunnel
  delete out.query
  delete out.param
  return out
}
