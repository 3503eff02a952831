import type { Logger } from '../../logger.ts'
import type { SessionVerifier, TokenVerifier } from '../auth.ts'
import type { EventHub } from './event-hub.ts'
import type { EventsOptions } from './events-options.ts'

/** What the SSE and WebSocket routes share. */
export interface PushRouteDeps {
  hub: EventHub
  options: EventsOptions
  log: Logger
  /** The token store, to re-check a client's token at each heartbeat; undefined when authentication is off. */
  tokens: TokenVerifier | undefined
  /** The console's sessions, to end a cookie client's stream at logout or expiry; undefined without the console. */
  sessions?: SessionVerifier | undefined
  /** How deep a WebSocket client message's fields may nest (`limits.jsonDepth`, §8.9). @default 64 */
  jsonDepth?: number | undefined
}
