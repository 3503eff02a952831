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
  /** Clients one token (or console session) may hold at once. @default unlimited */
  maxClientsPerToken?: number
  /** Of `maxClients`, slots only admins may take. @default 0 */
  adminReserve?: number
}
