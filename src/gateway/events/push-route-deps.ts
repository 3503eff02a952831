import type { Logger } from '../../logger.ts'
import type { TokenVerifier } from '../auth.ts'
import type { EventHub } from './event-hub.ts'
import type { EventsOptions } from './events-options.ts'

/** What the SSE and WebSocket routes share. */
export interface PushRouteDeps {
  hub: EventHub
  options: EventsOptions
  log: Logger
  /** The token store, to re-check a client's token at each heartbeat; undefined when authentication is off. */
  tokens: TokenVerifier | undefined
}
