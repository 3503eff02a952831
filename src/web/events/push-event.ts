import type { Json } from '../../protocol/index.ts'

/**
 * One event of the push channel (`/api/v1/events`, `/api/v1/ws`): a bundle's EVENT (wire-protocol.md §5.11) or one
 * of the gateway's own (`/bundles/<name>`, `/tokens/<id>`). Made once by the hub and shared by every client.
 */
export interface PushEvent {
  /** Sequence number: grows by one per event, and across restarts (it starts from the start time in µs). */
  readonly id: number
  /** As published, query included. */
  readonly resource: string
  /** The resource without its query: what patterns are matched against [WP-25]. */
  readonly name: string
  readonly method: string
  /** The event's `code` (normally 200); null when the publisher gave none. */
  readonly code: number | null
  readonly data: Json
  /** When the gateway received it, ISO 8601 UTC. */
  readonly time: string
  /** Only admin clients receive it (token events). */
  readonly adminOnly: boolean
  /** `{"resource","method","code","data","time"}`, serialised once: the SSE `data:` line and the WebSocket frame. */
  readonly json: string
}
