import type { Logger } from '../../logger.ts'
import { CatchUp } from './catch-up.ts'
import type { EventHub, EventSubscriber, Replay } from './event-hub.ts'
import type { EventsOptions } from './events-options.ts'
import type { PushEvent } from './push-event.ts'
import type { PushRequest } from './push-request.ts'

/** How a {@link PushClient} reaches its connection: an SSE response or a WebSocket. */
export interface PushTransport {
  /** Bytes written and not yet taken by the client. */
  buffered(): number
  /** Whether the connection still takes writes. */
  writable(): boolean
  /** Writes `text` as it is. */
  write(text: string): void
  /** The wire form of an event. */
  frame(event: PushEvent): string
  /** The wire form of a gap notice (events lost before a replay). */
  gapFrame(gap: NonNullable<Replay['gap']>): string
  /**
   * Calls `resume` once the client may have taken some of its unsent data (a `drain`, or a short poll when the
   * connection will not emit one); the caller looks at `buffered()` again.
   */
  whenDrained(resume: () => void): void
  /** Ends the connection politely, for `reason`; the client is unsubscribed already. */
  end(reason: string): void
  /** Cuts the connection at once. */
  destroy(): void
  /** A heartbeat for a client whose credential still holds: an SSE comment, a WebSocket ping. */
  keepAlive(client: PushClient): void
}

/** What a {@link PushClient} is made of: its request (patterns, resume point, identity), its route, its transport. */
export interface PushClientParts extends PushRequest {
  hub: EventHub
  options: EventsOptions
  /** The clients of the route (see pushClientSet): the client is in it from `start` until it ends. */
  clients: Set<PushClient>
  /** The client's logger (`transport`, `client`, `tokenId`). */
  log: Logger
  transport: PushTransport
}

/**
 * One connected push client, whatever its transport: subscribed to the hub, replaying after `Last-Event-ID`,
 * dropped when its unsent data exceeds `clientBufferBytes` ("slow consumer"), ended when its token no longer holds.
 * It ends once: by the gateway (`close`, `drop`) or by the peer (`disconnected`), each logged with its reason.
 */
export class PushClient {
  readonly #parts: PushClientParts
  readonly #catchUp: CatchUp
  readonly #subscriber: EventSubscriber
  #closed = false
  #unsubscribe = () => {}
  /** Times a catching-up client got back under its limit, and that count at the last heartbeat. */
  #drains = 0
  #drainsAtHeartbeat = -1

  constructor(parts: PushClientParts) {
    this.#parts = parts
    const { hub, options, who, patterns, transport } = parts
    this.#catchUp = new CatchUp(hub, {
      wanted: (e) => (!e.adminOnly || who.admin) && patterns.matches(e.name),
      send: (e) => transport.write(transport.frame(e)),
      gap: (g) => transport.write(transport.gapFrame(g)),
      full: () => transport.buffered() > options.clientBufferBytes,
      whenDrained: (resume) => this.#whenUnderLimit(resume),
      closed: () => this.#closed || !transport.writable(),
    })
    this.#subscriber = {
      admin: who.admin,
      tokenId: who.tokenId,
      wants: (name) => patterns.matches(name),
      send: (e) => {
        if (!this.#catchUp.active) this.send(transport.frame(e))
      },
      close: (reason) => this.close(reason),
    }
  }

  /** Sends `text` unless the client has ended; a client that does not read is cut off, never buffered without bound. */
  send(text: string): void {
    const { transport, options } = this.#parts
    if (this.#closed || !transport.writable()) return
    const buffered = transport.buffered()
    if (buffered > options.clientBufferBytes) {
      this.drop('slow consumer', { bufferedBytes: buffered, limitBytes: options.clientBufferBytes })
      return
    }
    transport.write(text)
  }

  /** Subscribes to the hub and, with `resumeAfter`, starts the replay, in one turn: no event is missed or doubled. */
  start(): void {
    const { clients, hub, log, patterns, resumeAfter } = this.#parts
    clients.add(this)
    this.#unsubscribe = hub.subscribe(this.#subscriber)
    log.debug({ patterns: patterns.list(), resumeAfter }, 'push client connected')
    if (resumeAfter !== undefined) this.#catchUp.start(resumeAfter)
  }

  /** Ends the client politely (gateway stopping, token no longer valid…), logging `reason`. */
  close(reason: string): void {
    if (!this.#finish()) return
    this.#parts.log.info({ reason }, 'push client closed')
    this.#parts.transport.end(reason)
  }

  /** Cuts the client off for `reason` (slow consumer, no pong), with a warning. */
  drop(reason: string, fields: Record<string, unknown> = {}): void {
    if (!this.#finish()) return
    this.#parts.hub.dropped++
    this.#parts.log.warn({ reason, ...fields }, 'push client dropped')
    this.#parts.transport.destroy()
  }

  /** The peer went away. */
  disconnected(): void {
    if (this.#finish()) this.#parts.log.debug('push client disconnected')
  }

  /**
   * Re-checks the client's token, applies the slow-consumer rule, then keeps the connection alive. A client over its
   * limit is dropped, unless it is catching up and took some of its data since the previous heartbeat (data is
   * flowing, so no keep-alive is needed): a resuming client that stops reading is dropped within two heartbeats.
   */
  heartbeat(): void {
    const { who, transport, options } = this.#parts
    if (!who.stillValid()) {
      this.close('token no longer valid')
      return
    }
    const buffered = transport.buffered()
    if (buffered <= options.clientBufferBytes) {
      this.#drainsAtHeartbeat = this.#drains
      transport.keepAlive(this)
    } else if (this.#catchUp.active && this.#drains !== this.#drainsAtHeartbeat) {
      this.#drainsAtHeartbeat = this.#drains
    } else {
      this.drop('slow consumer', {
        bufferedBytes: buffered,
        limitBytes: options.clientBufferBytes,
        catchingUp: this.#catchUp.active,
      })
    }
  }

  /** Calls `resume` once the client's unsent data is back under its limit; never once the client has ended. */
  #whenUnderLimit(resume: () => void): void {
    const { transport, options } = this.#parts
    const check = () => {
      if (this.#closed || !transport.writable()) return
      if (transport.buffered() > options.clientBufferBytes) transport.whenDrained(check)
      else {
        this.#drains++
        resume()
      }
    }
    transport.whenDrained(check)
  }

  #finish(): boolean {
    if (this.#closed) return false
    this.#closed = true
    this.#unsubscribe()
    this.#parts.clients.delete(this)
    return true
  }
}
