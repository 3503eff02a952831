/** Limits of the push channel (`events.*` in the configuration, docs/config.md). */
export interface EventsOptions {
  /** SSE comment line / WebSocket ping interval. */
  heartbeatMs: number
  /** Events kept for `Last-Event-ID` replay. */
  replayEvents: number
  /** Bytes of event JSON kept for replay. */
  replayBytes: number
  /** Unsent bytes one client may have queued before it is dropped. */
  clientBufferBytes: number
  /** Clients (SSE and WebSocket together) at once. */
  maxClients: number
}
