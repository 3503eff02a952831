import type { FastifyInstance } from 'fastify'
import type { ControllerCore } from '../../controller/index.ts'
import type { Logger } from '../../logger.ts'
import type { SessionVerifier, TokenVerifier } from '../auth.ts'
import { forwardControllerEvents } from './controller-events.ts'
import { EventHub } from './event-hub.ts'
import type { EventsOptions } from './events-options.ts'
import { sseRoute } from './sse-route.ts'
import { wsRoute } from './ws-route.ts'

/**
 * The push channel: one hub fed by the controller, served as SSE (`/api/v1/events`) and WebSocket (`/api/v1/ws`).
 * Clients are closed before the server stops (long-lived streams would otherwise hold `close()` up). Returns the
 * hub, for the gateway's own events (tokens).
 */
export function pushChannel(
  app: FastifyInstance,
  deps: {
    core: ControllerCore
    tokens: TokenVerifier | undefined
    sessions?: SessionVerifier | undefined
    options: EventsOptions
    log: Logger
    jsonDepth?: number | undefined
  },
): EventHub {
  const log = deps.log.child({ component: 'events' })
  const hub = new EventHub({ replayEvents: deps.options.replayEvents, replayBytes: deps.options.replayBytes })
  const stop = forwardControllerEvents(deps.core, hub, log)
  const routeDeps = {
    hub,
    options: deps.options,
    log,
    tokens: deps.tokens,
    sessions: deps.sessions,
    jsonDepth: deps.jsonDepth,
  }
  sseRoute(app, routeDeps)
  wsRoute(app, routeDeps)
  app.addHook('preClose', (done) => {
    stop()
    hub.closeAll('gateway stopping')
    done()
  })
  return hub
}
