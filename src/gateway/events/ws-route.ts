import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { type RawData, WebSocketServer } from 'ws'
import { createError, type ErrorCode } from '../../errors.ts'
import { isObject } from '../../protocol/index.ts'
import { errorReply } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'
import { CatchUp } from './catch-up.ts'
import { clientIdentity } from './client-identity.ts'
import type { EventSubscriber } from './event-hub.ts'
import { PatternSet } from './pattern-set.ts'
import type { PushEvent } from './push-event.ts'
import type { PushRouteDeps } from './push-route-deps.ts'
import { resumePoint } from './resume-point.ts'

/** The socket and head of an upgrade request, kept on the request while fastify routes it. */
const kUpgrade = Symbol('bundlegate.upgrade')
type UpgradeRequest = IncomingMessage & { [kUpgrade]?: { socket: Duplex; head: Buffer } }

/** Client messages are small: subscribe, unsubscribe, ping. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024

/** While a resuming client's buffer is full, how often to look again (ws has no drain event). */
const DRAIN_POLL_MS = 10

/** The WebSocket frame of an event, made once per event. */
const frames = new WeakMap<PushEvent, string>()
function frameOf(e: PushEvent): string {
  let f = frames.get(e)
  if (f === undefined) {
    f = `{"type":"event","id":${e.id},${e.json.slice(1)}`
    frames.set(e, f)
  }
  return f
}

let nextClient = 1

/**
 * `GET /api/v1/ws` (WebSocket upgrade): the push channel of `/api/v1/events` for clients that prefer WebSocket.
 * The upgrade request goes through fastify's routing, so the same onRequest authentication applies (header,
 * Bearer, session cookie, or `?mx-api-token=`); a refused upgrade gets the usual JSON error answer.
 *
 * Client → gateway: `{"type":"subscribe","resource":"/x/+"}`, `{"type":"unsubscribe","resource":"/x/+"}`,
 * `{"type":"ping"}`. Gateway → client: `{"type":"subscribed"|"unsubscribed","resource"}`, `{"type":"pong"}`,
 * `{"type":"event","id","resource","method","code","data","time"}`, `{"type":"gap","lastEventId","oldestId"}`,
 * `{"type":"error","message","code"}`. Optional `?resource=…&lastEventId=…` on the URL subscribe and replay at once.
 */
export function wsRoute(app: FastifyInstance, deps: PushRouteDeps): void {
  const { hub, options, log } = deps
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    clientTracking: false,
  })
  const clients = new Set<{ heartbeat(): void; subscriber: EventSubscriber }>()

  // Every upgrade request is routed through fastify (hooks, auth, 404 for other paths); only this route upgrades.
  const onUpgrade = (req: UpgradeRequest, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    req[kUpgrade] = { socket, head }
    const res = new ServerResponse(req)
    res.assignSocket(socket as never)
    // an answer that is not an upgrade ends the connection (the HTTP parser has let go of it)
    res.on('finish', () => socket.end())
    app.routing(req, res)
  }
  app.server.on('upgrade', onUpgrade)

  app.get(
    `${API_PREFIX}/ws`,
    { exposeHeadRoute: false, config: { auth: 'read', queryToken: true } },
    (request, reply) => {
      const upgrade = (request.raw as UpgradeRequest)[kUpgrade]
      if (!upgrade || String(request.headers.upgrade).toLowerCase() !== 'websocket')
        throw createError('GW_ERR_EVENTS_UPGRADE_REQUIRED')
      const query = request.query as Record<string, unknown>
      const patterns = PatternSet.fromQuery(query.resource, false)
      const resumeAfter = resumePoint(request)
      if (hub.clients >= options.maxClients)
        throw createError('GW_ERR_EVENTS_TOO_MANY_CLIENTS', [options.maxClients])
      const who = clientIdentity(request, deps.tokens)
      reply.hijack()
      delete (request.raw as UpgradeRequest)[kUpgrade]
      wss.handleUpgrade(request.raw, upgrade.socket, upgrade.head, (ws) => {
        const id = nextClient++
        const clientLog = log.child({ transport: 'ws', client: id, tokenId: who.tokenId })
        ;(upgrade.socket as Partial<{ setNoDelay(b: boolean): void }>).setNoDelay?.(true)
        let closed = false
        let alive = true
        let unsubscribe = () => {}
        const finish = () => {
          if (closed) return false
          closed = true
          unsubscribe()
          clients.delete(client)
          return true
        }
        const send = (text: string) => {
          if (closed || ws.readyState !== ws.OPEN) return
          if (ws.bufferedAmount > options.clientBufferBytes) {
            if (finish()) {
              clientLog.warn(
                {
                  reason: 'slow consumer',
                  bufferedBytes: ws.bufferedAmount,
                  limitBytes: options.clientBufferBytes,
                },
                'push client dropped',
              )
              ws.terminate()
            }
            return
          }
          ws.send(text)
        }
        const error = (code: ErrorCode, args: unknown[], extra: Record<string, unknown> = {}) => {
          const r = errorReply(code, args, extra)
          send(JSON.stringify({ type: 'error', ...r.body }))
        }
        const catchUp = new CatchUp(hub, {
          wanted: (e) => (!e.adminOnly || who.admin) && patterns.matches(e.name),
          send: (e) => ws.send(frameOf(e)),
          gap: (g) => ws.send(JSON.stringify({ type: 'gap', ...g })),
          full: () => ws.bufferedAmount > options.clientBufferBytes,
          whenDrained: (resume) => setTimeout(resume, DRAIN_POLL_MS),
          closed: () => closed || ws.readyState !== ws.OPEN,
        })
        const subscriber: EventSubscriber = {
          admin: who.admin,
          tokenId: who.tokenId,
          wants: (name) => patterns.matches(name),
          send: (e) => {
            if (!catchUp.active) send(frameOf(e))
          },
          close(reason) {
            if (!finish()) return
            clientLog.info({ reason }, 'push client closed')
            ws.close(reason === 'gateway stopping' ? 1001 : 1008, reason)
            setTimeout(() => ws.terminate(), 1000).unref()
          },
        }
        const client = {
          subscriber,
          heartbeat() {
            if (!who.stillValid()) return subscriber.close('token no longer valid')
            if (!alive) {
              if (finish()) clientLog.warn({ reason: 'no pong' }, 'push client dropped')
              ws.terminate()
              return
            }
            alive = false
            ws.ping()
          },
        }
        ws.on('pong', () => {
          alive = true
        })
        ws.on('error', (err) => clientLog.debug({ err: err.message }, 'websocket error'))
        ws.on('close', () => {
          if (finish()) clientLog.debug('push client disconnected')
        })
        ws.on('message', (raw: RawData, isBinary: boolean) => {
          alive = true
          let msg: unknown
          try {
            msg = isBinary ? undefined : JSON.parse(raw.toString())
          } catch {
            msg = undefined
          }
          if (!isObject(msg)) return error('GW_ERR_EVENTS_MESSAGE', ['Expected a JSON object {"type", …}'])
          switch (msg.type) {
            case 'subscribe': {
              const problem = PatternSet.problem(msg.resource)
              if (problem)
                return error('GW_ERR_EVENTS_PATTERN', [problem], { resource: msg.resource ?? null })
              if (!patterns.add(msg.resource as string))
                return error('GW_ERR_EVENTS_PATTERN', [`at most ${PatternSet.MAX} patterns per client`], {
                  resource: msg.resource as string,
                })
              return send(JSON.stringify({ type: 'subscribed', resource: msg.resource }))
            }
            case 'unsubscribe': {
              if (typeof msg.resource !== 'string')
                return error('GW_ERR_EVENTS_PATTERN', ['Expected `resource` to be a pattern (string)'])
              patterns.delete(msg.resource)
              return send(JSON.stringify({ type: 'unsubscribed', resource: msg.resource }))
            }
            case 'ping':
              return send('{"type":"pong"}')
            default:
              return error('GW_ERR_EVENTS_MESSAGE', [
                `Expected \`type\` to be subscribe, unsubscribe or ping, got ${JSON.stringify(msg.type ?? null)}`,
              ])
          }
        })
        clients.add(client)
        unsubscribe = hub.subscribe(subscriber)
        clientLog.debug({ patterns: patterns.list(), resumeAfter }, 'push client connected')
        // subscribe and start the replay in one turn: no event is missed or doubled in between
        if (resumeAfter !== undefined) catchUp.start(resumeAfter)
      })
    },
  )

  const timer = setInterval(() => {
    for (const c of [...clients]) c.heartbeat()
  }, options.heartbeatMs)
  timer.unref()
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer)
    app.server.off('upgrade', onUpgrade)
    wss.close()
    done()
  })
}
