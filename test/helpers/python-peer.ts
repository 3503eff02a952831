/**
 * A wire-exact fake of a bundle written with the Sanji Python SDK 1.1.2 (wire-protocol.md §4.5, §4.6, §6), and a
 * raw MQTT client for tools, callers and the original web layer. Neither uses our SDK or our protocol code: they
 * speak the wire as the original peers do, so wire-level tests check our controller against the original stack.
 *
 * What the fake reproduces:
 * - MQTT: MQTT 3.1.1, an empty client id with a clean session (the broker assigns one), no will, QoS 0
 *   subscriptions on every tunnel, requests/responses/events published on `/controller` at QoS 2;
 * - payloads in Python's `json.dumps` format (`", "` and `": "` separators, `\uXXXX` for non-ASCII), key order
 *   as the SDK builds them, optionally pretty-printed (`indent`);
 * - ids: a random integer in 1 … 655350 per message (the SDK draws 0 … 655350; 0 would turn a request into an
 *   event, so it is skipped);
 * - tunnels: a 32-hex internal tunnel (`uuid4().hex`), the model and view tunnels from registration; requests
 *   reply to the view tunnel, else the model tunnel, else the internal one (§6 item 4);
 * - registration: model and view profiles derived from the manifest (§4.5), DELETE of both (retried every 1 s,
 *   3 s timeout, until 200), then POST of each profile with resources, retried after DELETE with no pause (§4.6);
 * - classification of incoming messages by the SDK rule (§3.2) and responses built as in §6 item 6.
 *
 * Deliberate difference: the random 0–5 s pause before registering is 0 unless `registerDelayMs` says otherwise.
 * @module
 */
import { randomInt, randomUUID } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import type { Envelope, Json, JsonObject } from '../../src/protocol/index.ts'

export type { Envelope, Json, JsonObject }

/** The topic every peer publishes to. */
export const CONTROLLER = '/controller'
/** The registration built-in's resource. */
export const REGISTRATION = '/controller/registration'

// ------------------------------------------------------------------------------------------ Python json.dumps

function pyString(s: string): string {
  // JSON.stringify escapes like Python except for non-ASCII (Python's ensure_ascii=True escapes it).
  return JSON.stringify(s).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * `json.dumps(value)` of Python 3 (default separators `", "` / `": "`), or `json.dumps(value, indent=n)`
 * (separators `","` / `": "`, one item a line). Key order is insertion order, as in a Python dict.
 */
export function pyDumps(value: unknown, indent?: number, level = 0): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'string') return pyString(value)
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value)
  const pad = indent === undefined ? '' : `\n${' '.repeat(indent * (level + 1))}`
  const end = indent === undefined ? '' : `\n${' '.repeat(indent * level)}`
  const sep = indent === undefined ? ', ' : ','
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    return `[${value.map((v) => pad + pyDumps(v, indent, level + 1)).join(sep)}${end}]`
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
  if (entries.length === 0) return '{}'
  return `{${entries.map(([k, v]) => `${pad}${pyString(k)}: ${pyDumps(v, indent, level + 1)}`).join(sep)}${end}}`
}

// ------------------------------------------------------------------------------------------ SDK rules

/** A random message id as the Python SDK draws it, never 0 (§6 item 3). */
export function pyRandomId(): number {
  return randomInt(1, 655351)
}

/** The SDK's internal reply tunnel: `uuid4().hex`, 32 lowercase hex digits. */
export function pyInternalTunnel(): string {
  return randomUUID().replaceAll('-', '')
}

/** The classification of the Python SDK (§3.2, SDK rule): first row that fits wins. */
export type SdkKind = 'RESPONSE' | 'REQUEST' | 'DIRECT' | 'EVENT' | 'HOOK' | 'UNKNOWN'

/** "Has" = present with any value other than JSON false (null and 0 count as present). */
function has(m: Envelope, key: string): boolean {
  return key in m && m[key] !== false && m[key] !== undefined
}

export function sdkClassify(m: Envelope): SdkKind {
  const rows: Array<[SdkKind, string[], string[]]> = [
    ['RESPONSE', ['id', 'code', 'method', 'resource', 'sign'], ['tunnel']],
    ['REQUEST', ['id', 'method', 'resource'], ['code', 'sign', 'tunnel']],
    ['DIRECT', ['id', 'method', 'resource', 'tunnel'], ['code', 'sign']],
    ['EVENT', ['code', 'method', 'resource'], ['id', 'sign', 'tunnel']],
    ['HOOK', ['id', 'method', 'resource', 'sign'], ['code', 'tunnel']],
  ]
  for (const [kind, must, mustNot] of rows) {
    if (must.every((k) => has(m, k)) && !mustNot.some((k) => has(m, k))) return kind
  }
  return 'UNKNOWN'
}

/**
 * The response the SDK builds for `request` (§6 item 6): a copy of the request without `tunnel`, `param`, `query`
 * and `_`-keys; `data` set (null when none), `code` set, the bundle name appended to `sign`. Other keys, `caller`
 * included, are echoed. Existing keys keep their place, new ones are appended (Python dict order).
 */
export function pyResponse(request: Envelope, bundleName: string, code = 200, data: Json = null): Envelope {
  const out: Envelope = {}
  for (const [k, v] of Object.entries(request)) {
    if (k === 'tunnel' || k === 'param' || k === 'query' || k.startsWith('_')) continue
    out[k] = structuredClone(v)
  }
  out.data = data
  out.code = code
  out.sign = [...(Array.isArray(request.sign) ? request.sign : []), bundleName]
  return out
}

/** One manifest `resources` entry of bundle.json. */
export type ManifestResource = string | { resource: string; role?: string; methods?: string[] }

/** A bundle.json as the Python SDK reads it. Keys other than the ones named are sent along unchanged. */
export interface PythonManifest {
  name: string
  role?: string
  ttl?: number
  description?: string
  resources: ManifestResource[]
  [key: string]: Json | ManifestResource[] | undefined
}

/**
 * The two profiles of a manifest (§4.5): `:word` → `+`, each entry takes the bundle role unless it has its own,
 * the profile whose role differs from the bundle role is named `<name>-<role>`. `tunnel` is appended when sent.
 */
export function pyProfiles(manifest: PythonManifest): { model: JsonObject; view: JsonObject } {
  const bundleRole = manifest.role ?? 'model'
  const build = (role: 'model' | 'view'): JsonObject => {
    const resources: string[] = []
    for (const r of manifest.resources) {
      const entry = typeof r === 'string' ? { resource: r } : r
      if ((entry.role ?? bundleRole) === role) resources.push(entry.resource.replace(/:\w+/g, '+'))
    }
    const profile: JsonObject = {}
    for (const [k, v] of Object.entries(manifest)) if (v !== undefined) profile[k] = v as Json
    profile.name = role === bundleRole ? manifest.name : `${manifest.name}-${role}`
    profile.role = role
    profile.resources = resources
    return profile
  }
  return { model: build('model'), view: build('view') }
}

// ------------------------------------------------------------------------------------------ inbox

/** One message received by a fake peer. */
export interface Received {
  topic: string
  payload: string
  /** The parsed payload; undefined when it was not JSON. */
  message: Envelope | undefined
  at: number
}

/** Messages received on subscribed topics, readable in order per topic with `next`. */
class Inbox {
  readonly all: Received[] = []
  readonly #cursor = new Map<string, number>()
  #waiters: Array<() => void> = []

  push(topic: string, payload: Buffer): void {
    const text = payload.toString('utf8')
    let message: Envelope | undefined
    try {
      const parsed = JSON.parse(text) as unknown
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        message = parsed as Envelope
    } catch {
      message = undefined
    }
    this.all.push({ topic, payload: text, message, at: performance.now() })
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  on(topic: string): Received[] {
    return this.all.filter((r) => r.topic === topic)
  }

  /** The next unread message on `topic` (every topic when undefined), waiting up to `timeoutMs`. */
  async next(topic: string | undefined, timeoutMs: number): Promise<Received> {
    const key = topic ?? '\u0000all'
    const end = performance.now() + timeoutMs
    for (;;) {
      const from = this.#cursor.get(key) ?? 0
      const list = this.all
      for (let i = from; i < list.length; i++) {
        const r = list[i]!
        if (topic === undefined || r.topic === topic) {
          this.#cursor.set(key, i + 1)
          return r
        }
      }
      this.#cursor.set(key, list.length)
      const left = end - performance.now()
      if (left <= 0) throw new Error(`no message on ${topic ?? 'any topic'} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }
}

function connectMqtt(url: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId,
      clean: true,
      protocolVersion: 4,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 5000,
    })
    const fail = (err: Error) => {
      client.end(true)
      reject(err)
    }
    client.once('error', fail)
    client.once('connect', () => {
      client.removeListener('error', fail)
      client.on('error', () => {}) // errors after connect end in 'close'; tests see missing replies
      resolve(client)
    })
  })
}

// ------------------------------------------------------------------------------------------ raw client

/**
 * A raw MQTT client: a tool such as mosquitto_pub/sub, a caller, or the original web layer (a Node view bundle).
 * It publishes payloads verbatim and records what arrives on its subscriptions.
 */
export class RawClient {
  readonly inbox = new Inbox()
  readonly #client: MqttClient

  private constructor(client: MqttClient) {
    this.#client = client
    client.on('message', (topic, payload) => this.inbox.push(topic, payload))
  }

  /** Connects with `clientId` (default: mqtt.js's random one). */
  static async connect(url: string, clientId = `raw_${randomUUID().slice(0, 8)}`): Promise<RawClient> {
    return new RawClient(await connectMqtt(url, clientId))
  }

  async subscribe(topic: string, qos: 0 | 1 | 2 = 0): Promise<void> {
    await this.#client.subscribeAsync(topic, { qos })
  }

  /** Publishes `payload` (a string is sent verbatim, anything else as compact JSON). */
  async publish(payload: string | Envelope, topic = CONTROLLER, qos: 0 | 1 | 2 = 1): Promise<void> {
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
    await this.#client.publishAsync(topic, text, { qos })
  }

  /** The next unread message on `topic`. */
  next(topic: string, timeoutMs = 5000): Promise<Received> {
    return this.inbox.next(topic, timeoutMs)
  }

  /** The next unread message on `topic`, parsed. */
  async nextMessage(topic: string, timeoutMs = 5000): Promise<Envelope> {
    const r = await this.inbox.next(topic, timeoutMs)
    if (!r.message) throw new Error(`non-JSON message on ${topic}: ${r.payload}`)
    return r.message
  }

  async close(abrupt = false): Promise<void> {
    await this.#client.endAsync(abrupt)
  }
}

// ------------------------------------------------------------------------------------------ the Python bundle

/** What a request handler answers; `undefined` means "no response" (a handler that never answers). */
export type PyAnswer = { code?: number; data?: Json } | undefined
export type PyHandler = (request: Envelope, topic: string) => PyAnswer | Promise<PyAnswer>

/** One registration call made by the SDK routine, with its reply. */
export interface RegistrationCall {
  method: 'delete' | 'post'
  name: string
  request: Envelope
  /** The reply; undefined when it timed out or the peer closed. */
  reply: Envelope | undefined
  /** `performance.now()` when the reply arrived. */
  at: number
}

export interface PythonPeerOptions {
  /** The internal reply tunnel (default: a fresh `uuid4().hex`). */
  internalTunnel?: string
  /** Timeout of a direct request (the SDK default is 60 s). @default 60000 */
  requestTimeoutMs?: number
  /** Timeout of a registration POST (the SDK waits 60 s). @default 60000 */
  postTimeoutMs?: number
  /** Timeout of a registration DELETE (SDK: 3 s, retried every 1 s). @default 3000 */
  deleteTimeoutMs?: number
  /** Pause before registering after a (re)connect; the SDK draws 0–5 s. @default 0 */
  registerDelayMs?: number
  /** Publish pretty-printed JSON with this indent instead of Python's compact `json.dumps` (undefined = compact). */
  indent?: number | undefined
  /** Id source (default: {@link pyRandomId}); tests pass a sequence for reproducible transcripts. */
  ids?: () => number
}

interface PendingRequest {
  resolve: (m: Envelope) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * A fake Python SDK 1.1.2 bundle. `connect` opens a new MQTT connection (a reconnect after `close` gets a new
 * broker-assigned client id and keeps the known tunnels, as the SDK does), `register` runs the DELETE-then-POST
 * routine, `serve` answers requests, `request` and `event` publish like the SDK's `publish` helpers.
 */
export class PythonPeer {
  readonly internalTunnel: string
  /** The component tunnels from the last successful registration of each role. */
  readonly tunnels: { model?: string; view?: string } = {}
  /** Everything received on the peer's tunnels, in order, across connections. */
  readonly inbox = new Inbox()
  /** Everything the peer published, in order. */
  readonly sent: Array<{ topic: string; payload: string; message: Envelope }> = []
  /** Every registration call of the routine (DELETE and POST) with its reply. */
  readonly registrations: RegistrationCall[] = []
  /** Events delivered to the event handlers (SDK EVENTs, and RESPONSEs with an unknown id, stripped). */
  readonly events: Envelope[] = []
  /** The indent used for publishing; undefined = Python's compact `json.dumps`. */
  indent: number | undefined
  #name: string | undefined
  #client: MqttClient | undefined
  #handler: PyHandler | undefined
  readonly #pending = new Map<number, PendingRequest>()
  readonly #opts: Required<Omit<PythonPeerOptions, 'internalTunnel' | 'indent'>>
  #closed = false
  #connection = 0

  constructor(options: PythonPeerOptions = {}) {
    this.internalTunnel = options.internalTunnel ?? pyInternalTunnel()
    this.indent = options.indent
    this.#opts = {
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      postTimeoutMs: options.postTimeoutMs ?? 60_000,
      deleteTimeoutMs: options.deleteTimeoutMs ?? 3000,
      registerDelayMs: options.registerDelayMs ?? 0,
      ids: options.ids ?? pyRandomId,
    }
  }

  /** The bundle name (manifest name) once `register` ran; it is appended to `sign` in responses. */
  get name(): string {
    if (this.#name === undefined) throw new Error('the peer has no bundle name yet')
    return this.#name
  }

  set name(name: string) {
    this.#name = name
  }

  /** True while the MQTT connection is up. */
  get connected(): boolean {
    return this.#client?.connected ?? false
  }

  /** Opens a (new) MQTT connection: empty client id, clean session, no will; subscribes the known tunnels at QoS 0. */
  async connect(url: string): Promise<this> {
    if (this.#client?.connected) throw new Error('already connected')
    this.#closed = false
    const client = await connectMqtt(url, '')
    const connection = ++this.#connection
    this.#client = client
    client.on('message', (topic, payload) => {
      if (connection === this.#connection) this.#onMessage(topic, payload)
    })
    const known = [this.internalTunnel, this.tunnels.model, this.tunnels.view].filter(
      (t): t is string => t !== undefined,
    )
    await client.subscribeAsync(known, { qos: 0 })
    return this
  }

  /** The topic SDK requests reply to: the view tunnel, else the model tunnel, else the internal one (§6 item 4). */
  get replyTunnel(): string {
    return this.tunnels.view ?? this.tunnels.model ?? this.internalTunnel
  }

  /** Subscribes to a component tunnel (QoS 0) and drops the previous one of that role, as the SDK does on 200. */
  async useTunnel(role: 'model' | 'view', tunnel: string): Promise<void> {
    const client = this.#requireClient()
    const previous = this.tunnels[role]
    await client.subscribeAsync(tunnel, { qos: 0 })
    this.tunnels[role] = tunnel
    const stillUsed =
      previous === this.internalTunnel || previous === this.tunnels.model || previous === this.tunnels.view
    if (previous !== undefined && previous !== tunnel && !stillUsed) await client.unsubscribeAsync(previous)
  }

  /**
   * The SDK's registration routine (§4.6): DELETE the model profile, then the view profile (each retried every
   * 1 s until 200), then POST each profile that has resources; a POST answered with anything but 200 (or not at
   * all) is followed by DELETE and a new POST, with no pause, until 200 or `close`. Resolves with the tunnels.
   */
  async register(manifest: PythonManifest): Promise<{ model?: string; view?: string }> {
    this.#name = manifest.name
    if (this.#opts.registerDelayMs > 0) await sleep(this.#opts.registerDelayMs)
    const { model, view } = pyProfiles(manifest)
    await this.#deregister(model)
    await this.#deregister(view)
    for (const profile of [model, view]) {
      if ((profile.resources as string[]).length === 0) continue
      let reply = await this.#registrationCall('post', profile, this.#opts.postTimeoutMs)
      while (reply?.code !== 200) {
        this.#checkOpen()
        await this.#deregister(profile)
        reply = await this.#registrationCall('post', profile, this.#opts.postTimeoutMs)
      }
      const data = reply.data as JsonObject
      await this.useTunnel(profile.role as 'model' | 'view', data.tunnel as string)
    }
    return { ...this.tunnels }
  }

  /** Answers every REQUEST, DIRECT and HOOK message with `handler` (§6 items 5–6). */
  serve(handler: PyHandler): this {
    this.#handler = handler
    return this
  }

  /**
   * Publishes a request like `publish.direct.<method>` (direct: `{"resource","method","tunnel","data","id"}`, the
   * answer is awaited) or `publish.<method>` (plain: `{"resource","method","data","id"}`, resolves with the id).
   */
  request(
    method: string,
    resource: string,
    data?: Json,
    options?: { direct?: true; id?: number; timeoutMs?: number },
  ): Promise<Envelope>
  request(
    method: string,
    resource: string,
    data: Json | undefined,
    options: { direct: false; id?: number },
  ): Promise<number>
  async request(
    method: string,
    resource: string,
    data: Json = null,
    options: { direct?: boolean; id?: number; timeoutMs?: number } = {},
  ): Promise<Envelope | number> {
    const id = options.id ?? this.#opts.ids()
    if (options.direct === false) {
      await this.publish({ resource, method, data, id })
      return id
    }
    return this.#direct({ resource, method, tunnel: this.replyTunnel, data, id }, options.timeoutMs)
  }

  /** Publishes an event like `publish.event.<method>`: `{"resource","method","code":200,"data"}`, no id (§6 item 10). */
  async event(method: string, resource: string, data: Json = null): Promise<Envelope> {
    const message: Envelope = { resource, method, code: 200, data }
    await this.publish(message)
    return message
  }

  /** Publishes one message on `/controller` at QoS 2 in the SDK's JSON format (or `payload` verbatim). */
  async publish(message: Envelope | string, topic = CONTROLLER): Promise<void> {
    const client = this.#requireClient()
    const payload = typeof message === 'string' ? message : pyDumps(message, this.indent)
    this.sent.push({ topic, payload, message: JSON.parse(payload) as Envelope })
    await client.publishAsync(topic, payload, { qos: 2 })
  }

  /** Waits for a direct reply to a request published by hand (e.g. a captured payload): registers `id` first. */
  awaitReply(id: number, timeoutMs = this.#opts.requestTimeoutMs): Promise<Envelope> {
    return new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`no reply to id ${id} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, { resolve, reject, timer })
    })
  }

  /** Ends the connection: `abrupt` drops the socket without DISCONNECT (a crash or a cut cable). */
  async close(options: { abrupt?: boolean } = {}): Promise<void> {
    this.#closed = true
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer)
      p.reject(new Error(`peer closed while waiting for id ${id}`))
    }
    this.#pending.clear()
    const client = this.#client
    if (!client) return
    this.#connection++ // messages still in flight on the old connection are ignored
    await client.endAsync(options.abrupt ?? false)
  }

  // ---------------------------------------------------------------- internals

  #requireClient(): MqttClient {
    if (!this.#client || this.#closed) throw new Error('the peer is not connected')
    return this.#client
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('peer closed during registration')
  }

  async #deregister(profile: JsonObject): Promise<void> {
    for (;;) {
      this.#checkOpen()
      const reply = await this.#registrationCall('delete', profile, this.#opts.deleteTimeoutMs)
      if (reply?.code === 200) return
      this.#checkOpen()
      await sleep(1000)
    }
  }

  async #registrationCall(
    method: 'delete' | 'post',
    profile: JsonObject,
    timeoutMs: number,
  ): Promise<Envelope | undefined> {
    this.#checkOpen()
    const data: JsonObject = { ...profile, tunnel: this.internalTunnel }
    const request: Envelope = {
      resource: REGISTRATION,
      method,
      tunnel: this.replyTunnel,
      data,
      id: this.#opts.ids(),
    }
    const call: RegistrationCall = { method, name: data.name as string, request, reply: undefined, at: 0 }
    this.registrations.push(call)
    try {
      call.reply = await this.#direct(request, timeoutMs)
    } catch (err) {
      this.#checkOpen()
      if (!/within/.test((err as Error).message)) throw err
    }
    call.at = performance.now()
    return call.reply
  }

  async #direct(request: Envelope, timeoutMs = this.#opts.requestTimeoutMs): Promise<Envelope> {
    const id = request.id as number
    if (this.#pending.has(id)) throw new Error(`id ${id} is already pending in this peer`)
    const reply = this.awaitReply(id, timeoutMs)
    try {
      await this.publish(request)
    } catch (err) {
      const p = this.#pending.get(id)
      if (p) clearTimeout(p.timer)
      this.#pending.delete(id)
      reply.catch(() => {})
      throw err
    }
    return reply
  }

  #onMessage(topic: string, payload: Buffer): void {
    this.inbox.push(topic, payload)
    const message = this.inbox.all[this.inbox.all.length - 1]!.message
    if (!message) return // the SDK drops what is not JSON
    const kind = sdkClassify(message)
    if (kind === 'RESPONSE') {
      const p = this.#pending.get(message.id as number)
      if (p) {
        this.#pending.delete(message.id as number)
        clearTimeout(p.timer)
        p.resolve(message)
        return
      }
      // §6 item 5: a response nobody waits for is how views observe resources.
      const event: Envelope = { ...message }
      for (const k of ['id', 'sign', 'tunnel', 'query', 'param']) delete event[k]
      this.events.push(event)
      return
    }
    if (kind === 'EVENT') {
      this.events.push(message)
      return
    }
    if (kind === 'REQUEST' || kind === 'DIRECT' || kind === 'HOOK') void this.#answer(message, topic)
  }

  async #answer(request: Envelope, topic: string): Promise<void> {
    const name = this.#name ?? 'bundle'
    let answer: PyAnswer
    if (this.#handler === undefined) {
      answer = { code: 404, data: { message: `Route '${String(request.resource)}' not found.` } }
    } else {
      try {
        answer = await this.#handler(request, topic)
      } catch (err) {
        answer = { code: 500, data: { message: 'Internal Error.', traceback: String(err) } }
      }
    }
    if (answer === undefined || this.#closed) return
    await this.publish(pyResponse(request, name, answer.code ?? 200, answer.data ?? null)).catch(() => {})
  }
}
