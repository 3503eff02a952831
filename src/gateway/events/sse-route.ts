import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { createError } from '../../errors.ts'
import { API_PREFIX } from '../map-resource.ts'
import { CatchUp } from './catch-up.ts'
import { clientIdentity } from './client-identity.ts'
import type { EventSubscriber } from './event-hub.ts'
import { PatternSet } from './pattern-set.ts'
import type { PushEvent } from './push-event.ts'
import type { PushRouteDeps } from './push-route-deps.ts'
import { resumePoint } from './resume-point.ts'

/** The SSE frame of an event, made once per event whatever the number of clients. */
const frames = new WeakMap<PushEvent, string>()
function frameOf(e: PushEvent): string {
  let f = frames.get(e)
  if (f === undefined) {
    f = `id: ${e.id}\ndata: ${e.json}\n\n`
    frames.set(e, f)
  }
  return f
}

/** How long a browser's EventSource waits before reconnecting (it then sends Last-Event-ID). */
const RETRY_MS = 2000

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
  const clients = new Set<{ heartbeat(): void; subscriber: EventSubscriber }>()

  app.get(
    `${API_PREFIX}/events`,
    // no HEAD twin: a HEAD request would hold a stream open with nothing to send
    { exposeHeadRoute: false, config: { auth: 'read', queryToken: true } },
    (request, reply) => {
      const query = request.query as Record<string, unknown>
      const patterns = PatternSet.fromQuery(query.resource, true)
      const resumeAfter = resumePoint(request)
      if (hub.clients >= options.maxClients)
        throw createError('GW_ERR_EVENTS_TOO_MANY_CLIENTS', [options.maxClients])
      const who = clientIdentity(request, deps.tokens)
      const id = nextClient++
      const clientLog = log.child({ transport: 'sse', client: id, tokenId: who.tokenId })

      reply.hijack()
      const res: ServerResponse = reply.raw
      request.raw.socket.setNoDelay(true)
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      })
      let closed = false
      let unsubscribe = () => {}
      const finish = () => {
        if (closed) return false
        closed = true
        unsubscribe()
        clients.delete(client)
        return true
      }
      const write = (chunk: string) => {
        if (closed) return
        const buffered = res.writableLength
        if (buffered > options.clientBufferBytes) {
          // never buffer without bound: a client that does not read is cut off
          if (finish()) {
            clientLog.warn(
              { reason: 'slow consumer', bufferedBytes: buffered, limitBytes: options.clientBufferBytes },
              'push client dropped',
            )
            res.destroy()
          }
          return
        }
        res.write(chunk)
      }
      const catchUp = new CatchUp(hub, {
        wanted: (e) => (!e.adminOnly || who.admin) && patterns.matches(e.name),
        send: (e) => res.write(frameOf(e)),
        gap: (g) => res.write(`event: gap\ndata: ${JSON.stringify(g)}\n\n`),
        full: () => res.writableLength > options.clientBufferBytes,
        whenDrained: (resume) => res.once('drain', resume),
        closed: () => closed,
      })
      const subscriber: EventSubscriber = {
        admin: who.admin,
        tokenId: who.tokenId,
        wants: (name) => patterns.matches(name),
        send: (e) => {
          if (!catchUp.active) write(frameOf(e))
        },
        close(reason) {
          if (!finish()) return
          clientLog.info({ reason }, 'push client closed')
          res.end()
          // a client that does not read would hold the server's close() up: give it a moment, then cut it off
          if (res.writableLength > 0) setTimeout(() => res.destroy(), 500).unref()
        },
      }
      const client = {
        subscriber,
        heartbeat() {
          // (a client still catching up that has not taken its buffer since the last write is dropped here too)
          if (!who.stillValid()) subscriber.close('token no longer valid')
          else write(': heartbeat\n\n')
        },
      }
      res.on('close', () => {
        if (finish()) clientLog.debug('push client disconnected')
      })
      res.on('error', () => {}) // a reset connection ends in 'close'

      write(`retry: ${RETRY_MS}\n: connected\n\n`)
      clients.add(client)
      unsubscribe = hub.subscribe(subscriber)
      clientLog.debug({ patterns: patterns.list(), resumeAfter }, 'push client connected')
      // subscribe and start the replay in one turn: no event is missed or doubled in between
      if (resumeAfter !== undefined) catchUp.start(resumeAfter)
    },
  )

  const timer = setInterval(() => {
    for (const c of [...clients]) c.heartbeat()
  }, options.heartbeatMs)
  timer.unref()
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer)
    done()
  })
}
