import { type Json, resourceName } from '../../protocol/index.ts'
import type { PushEvent } from './push-event.ts'

/** A connected push client, as the hub sees it. */
export interface EventSubscriber {
  /** Receives admin-only events (token events). */
  readonly admin: boolean
  /** The token the client authenticated with (undefined when authentication is off). */
  readonly tokenId: string | undefined
  /** Whether the client subscribed to a pattern matching `name` (a resource without its query). */
  wants(name: string): boolean
  /** Sends one event; must not throw (a failing client drops itself). */
  send(event: PushEvent): void
  /** Ends the connection, logging `reason`. */
  close(reason: string): void
}

/** What to publish: the hub adds the id, the time and the serialised form. */
export interface PushInput {
  resource: string
  method: string
  code: number | null
  data: Json
  adminOnly?: boolean
}

/** What a client resuming after `Last-Event-ID` gets. */
export interface Replay {
  /** The events after the id that are still in the ring (every one in it when `gap`). */
  events: PushEvent[]
  /** Set when events after the id may have been lost: it fell out of the ring, or it is not one of ours. */
  gap: { lastEventId: number; oldestId: number | null } | undefined
}

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  /** Events kept for replay. */
  replayEvents: number
  /** Bytes of event JSON kept for replay. */
  replayBytes: number
  /** The clock (ms since the epoch). @default Date.now */
  now?: () => number
}

/**
 * The push channel's fan-out: numbers every event, keeps the latest in a bounded ring (by count and by bytes) for
 * `Last-Event-ID` replay, and hands each event to the subscribers whose patterns match it. Events are serialised
 * once, whatever the number of clients. Synchronous: a client connecting replays and subscribes in one turn, so it
 * neither misses nor doubles an event.
 */
export class EventHub {
  readonly #subscribers = new Set<EventSubscriber>()
  /** Slots before `#ringHead` are evicted (emptied at once, compacted now and then). */
  readonly #ring: Array<PushEvent | undefined> = []
  #ringHead = 0
  #ringBytes = 0
  readonly #maxEvents: number
  readonly #maxBytes: number
  readonly #now: () => number
  /** The id the next event gets. */
  #next: number
  /** Clients dropped so far (slow consumer, no pong), for the metrics. */
  dropped = 0

  constructor(options: EventHubOptions) {
    this.#maxEvents = options.replayEvents
    this.#maxBytes = options.replayBytes
    this.#now = options.now ?? Date.now
    // Ids keep growing across restarts: a client resuming with an id of the previous run sees a gap, not a replay
    // of unrelated events. µs since the epoch stays below 2^53 until the year 2255.
    this.#next = this.#now() * 1000
  }

  /** Connected clients. */
  get clients(): number {
    return this.#subscribers.size
  }

  /** Connected clients for which `predicate` holds (push slots per token). */
  countClients(predicate: (s: EventSubscriber) => boolean): number {
    let n = 0
    for (const s of this.#subscribers) if (predicate(s)) n++
    return n
  }

  /** The id of the latest event (the start value minus one before the first). */
  get lastId(): number {
    return this.#next - 1
  }

  /** Numbers, stores and delivers one event; returns it. */
  publish(input: PushInput): PushEvent {
    const time = new Date(this.#now()).toISOString()
    const json = JSON.stringify({
      resource: input.resource,
      method: input.method,
      code: input.code,
      data: input.data,
      time,
    })
    const event: PushEvent = {
      id: this.#next++,
      resource: input.resource,
      name: resourceName(input.resource),
      method: input.method,
      code: input.code,
      data: input.data,
      time,
      adminOnly: input.adminOnly ?? false,
      json,
    }
    this.#store(event)
    for (const s of this.#subscribers) {
      if (event.adminOnly && !s.admin) continue
      if (!s.wants(event.name)) continue
      try {
        s.send(event)
      } catch {
        s.close('send failed') // one broken client never holds up the others, nor the controller
      }
    }
    return event
  }

  /** Adds a client; returns the function that removes it. */
  subscribe(subscriber: EventSubscriber): () => void {
    this.#subscribers.add(subscriber)
    return () => {
      this.#subscribers.delete(subscriber)
    }
  }

  /** The events after `lastEventId` still in the ring, and whether some may be missing. */
  since(lastEventId: number): Replay {
    const events = this.#ring.slice(this.#ringHead) as PushEvent[]
    const oldest = events[0]?.id ?? this.#next
    if (lastEventId > this.lastId || lastEventId < oldest - 1) {
      return { events, gap: { lastEventId, oldestId: events.length > 0 ? oldest : null } }
    }
    return { events: events.filter((e) => e.id > lastEventId), gap: undefined }
  }

  /** Closes every client of token `tokenId` (it was revoked). */
  closeToken(tokenId: string, reason: string): void {
    for (const s of [...this.#subscribers]) if (s.tokenId === tokenId) s.close(reason)
  }

  /** Closes every client (the gateway stops). */
  closeAll(reason: string): void {
    for (const s of [...this.#subscribers]) s.close(reason)
  }

  #store(event: PushEvent): void {
    this.#ring.push(event)
    this.#ringBytes += event.json.length
    while (
      this.#ring.length - this.#ringHead > this.#maxEvents ||
      (this.#ringBytes > this.#maxBytes && this.#ring.length > this.#ringHead)
    ) {
      const old = this.#ring[this.#ringHead] as PushEvent
      this.#ring[this.#ringHead++] = undefined
      this.#ringBytes -= old.json.length
    }
    // compact now and then instead of shifting on every event
    if (this.#ringHead > 1024 && this.#ringHead * 2 > this.#ring.length) {
      this.#ring.splice(0, this.#ringHead)
      this.#ringHead = 0
    }
  }
}
