import type { EventHub, Replay } from './event-hub.ts'
import type { PushEvent } from './push-event.ts'

/** How a catch-up writes to its client. */
export interface CatchUpIo {
  /** Whether the event is for this client (its patterns, its audience). */
  wanted(event: PushEvent): boolean
  send(event: PushEvent): void
  gap(gap: NonNullable<Replay['gap']>): void
  /** The client's unsent data is above its limit. */
  full(): boolean
  /** Calls `resume` once the client's unsent data is back under its limit (never if the client ends first). */
  whenDrained(resume: () => void): void
  closed(): boolean
}

/**
 * A client resuming after `Last-Event-ID`: it is fed from the hub's ring, as fast as it reads, never more than its
 * buffer limit ahead, until it has caught up with the live stream. Live events that arrive meanwhile are in the ring
 * too, so while `active` the client ignores them and takes them from the ring in order: none is missed or doubled,
 * and a replay larger than the client's buffer costs no memory beyond the ring the hub keeps anyway. Events that
 * leave the ring before the client reaches them are reported as a gap.
 */
export class CatchUp {
  readonly #hub: EventHub
  readonly #io: CatchUpIo
  /** The last event handed to (or skipped for) the client; undefined once live. */
  #cursor: number | undefined

  constructor(hub: EventHub, io: CatchUpIo) {
    this.#hub = hub
    this.#io = io
  }

  /** Still replaying: live events are taken from the ring, not sent directly. */
  get active(): boolean {
    return this.#cursor !== undefined
  }

  /** Replays what follows `lastEventId`; call right after subscribing, in the same turn. */
  start(lastEventId: number): void {
    this.#cursor = lastEventId
    this.#pump()
  }

  #pump(): void {
    if (this.#cursor === undefined) return
    if (this.#io.closed()) {
      this.#cursor = undefined
      return
    }
    const replay = this.#hub.since(this.#cursor)
    if (replay.gap) this.#io.gap(replay.gap)
    for (const e of replay.events) {
      if (!this.#io.wanted(e)) {
        this.#cursor = e.id
        continue
      }
      // fullness is checked before each send: the client never holds more than its limit plus one event
      if (this.#io.full()) {
        this.#io.whenDrained(() => this.#pump())
        return
      }
      this.#cursor = e.id
      this.#io.send(e)
    }
    this.#cursor = undefined // caught up: live from now on
  }
}
