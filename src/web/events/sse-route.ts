import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { API_PREFIX } from '../map-resource.ts'
import { frameCache } from './frame-cache.ts'
import { PushClient } from './push-client.ts'
import { pushClientSet } from './push-client-set.ts'
import { pushRequest } from './push-request.ts'
import type { PushRouteDeps } from './push-route-deps.ts'

/** The SSE frame of an event, made once per event whatever the number of clients. */
const frameOf = frameCache((e) => `id: ${e.id}\ndata: ${e.json}\n\n`)

/** How long a browser's EventSource waits before reconnecting (it then sends Last-Event-ID). */
const RETRY_MS = 2000

/** While a resuming client's buffer is over its limit and no 'drain' is due, how often to look again. */
const DRAIN_POLL_MS = 10

let nextClient = 1

/**
 * `GET /api/v1/events?resource=<pattern>[&resource=…]`: Server-Sent Events of every event on a matching resource,
 * for any valid token (read scope is enough), the token also accepted as `?mx-api-token=` ([HA-3] item 4).
 * Each event is `id: <seq>` and `data: {"resource","method","code","data","time"}`; a comment line every
 * `heartbeatMs`; `Last-Event-ID` replays from the ring (`event: gap` first when events were lost); a client whose
 * unsent data exceeds `clientBufferBytes` is dropped with a logged reason.
 */
export function sseRoute(app: FastifyInstance, deps: PushRouteDeps): void {
  const { hub, options, log } = deps
  const route = { hub, options, clients: pushClientSet(app, options.heartbeatMs) }

  app.get(
    `${API_PREFIX}/events`,
    // no HEAD twin: a HEAD request would hold a stream open with nothing to send
    { exposeHeadRoute: false, config: { auth: 'read', queryToken: true } },
    (request, reply) => {
      const push = pushRequest(request, deps, true)
      const clientLog = log.child({ transport: 'sse', client: nextClient++, tokenId: push.who.tokenId })

      reply.hijack()
      const res: ServerResponse = reply.raw
      request.raw.socket.setNoDelay(true)
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      const client = new PushClient({
        ...route,
        ...push,
        log: clientLog,
        transport: {
          buffered: () => res.writableLength,
          writable: () => true,
          write: (text) => res.write(text),
          frame: frameOf,
          gapFrame: (g) => `event: gap\ndata: ${JSON.stringify(g)}\n\n`,
          // 'drain' comes only after a write that returned false: with a limit below the socket's highWaterMark
          // the buffer can be over the limit without one, so look again shortly instead
          whenDrained: (resume) =>
            res.writableNeedDrain ? res.once('drain', resume) : setTimeout(resume, DRAIN_POLL_MS).unref(),
          end: () => {
            res.end()
            // a client that does not read would hold the server's close() up: give it a moment, then cut it off
            if (res.writableLength > 0) setTimeout(() => res.destroy(), 500).unref()
          },
          destroy: () => res.destroy(),
          keepAlive: (c) => c.send(': heartbeat\n\n'),
        },
      })
      res.on('close', () => client.disconnected())
      res.on('error', () => {}) // a reset connection ends in 'close'

      client.send(`retry: ${RETRY_MS}\n: connected\n\n`)
      client.start()
    },
  )
}
