import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { type RawData, WebSocketServer } from 'ws'
import { createError, type ErrorCallArgs, type ErrorCode } from '../../errors.ts'
import { isObject, MAX_JSON_DEPTH, messageDepth } from '../../protocol/index.ts'
import { errorReply } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'
import { frameCache } from './frame-cache.ts'
import { PatternSet } from './pattern-set.ts'
import { PushClient } from './push-client.ts'
import { pushClientSet } from './push-client-set.ts'
import { pushRequest } from './push-request.ts'
import type { PushRouteDeps } from './push-route-deps.ts'

/** The socket and head of an upgrade request, kept on the request while fastify routes it. */
const kUpgrade = Symbol('bundlegate.upgrade')
type UpgradeRequest = IncomingMessage & { [kUpgrade]?: { socket: Duplex; head: Buffer } }

/** Client messages are small: subscribe, unsubscribe, ping. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024

/** While a resuming client's buffer is full, how often to look at `bufferedAmount` again (ws has no drain event). */
const DRAIN_POLL_MS = 10

/** The WebSocket frame of an event, made once per event. */
const frameOf = frameCache((e) => `{"type":"event","id":${e.id},${e.json.slice(1)}`)

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
  const maxDepth = deps.jsonDepth ?? MAX_JSON_DEPTH
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    clientTracking: false,
  })
  const route = { hub, options, clients: pushClientSet(app, options.heartbeatMs) }

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
      const push = pushRequest(request, deps, false)
      const { patterns } = push
      reply.hijack()
      delete (request.raw as UpgradeRequest)[kUpgrade]
      wss.handleUpgrade(request.raw, upgrade.socket, upgrade.head, (ws) => {
        const clientLog = log.child({ transport: 'ws', client: nextClient++, tokenId: push.who.tokenId })
        ;(upgrade.socket as Partial<{ setNoDelay(b: boolean): void }>).setNoDelay?.(true)
        let alive = true
        const client = new PushClient({
          ...route,
          ...push,
          log: clientLog,
          transport: {
            buffered: () => ws.bufferedAmount,
            writable: () => ws.readyState === ws.OPEN,
            write: (text) => ws.send(text),
            frame: frameOf,
            gapFrame: (g) => JSON.stringify({ type: 'gap', ...g }),
            whenDrained: (resume) => setTimeout(resume, DRAIN_POLL_MS),
            end: (reason) => {
              ws.close(reason === 'gateway stopping' ? 1001 : 1008, reason)
              setTimeout(() => ws.terminate(), 1000).unref()
            },
            destroy: () => ws.terminate(),
            keepAlive: (c) => {
              if (!alive) return c.drop('no pong')
              alive = false
              ws.ping()
            },
          },
        })
        const error = <C extends ErrorCode>(code: C, ...rest: ErrorCallArgs<C, Record<string, unknown>>) => {
          const r = errorReply(code, ...rest)
          client.send(JSON.stringify({ type: 'error', ...r.body }))
        }
        ws.on('pong', () => {
          alive = true
        })
        ws.on('error', (err) => clientLog.debug({ err: err.message }, 'websocket error'))
        ws.on('close', () => client.disconnected())
        ws.on('message', (raw: RawData, isBinary: boolean) => {
          alive = true
          let msg: unknown
          if (!isBinary) {
            const text = raw.toString()
            // §8.9: measured before parsing; a deep value would crash the error answer's JSON.stringify
            const depth = messageDepth(text)
            if (depth > maxDepth) return error('GW_ERR_JSON_TOO_DEEP', [depth, maxDepth])
            try {
              msg = JSON.parse(text)
            } catch {
              msg = undefined
            }
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
              return client.send(JSON.stringify({ type: 'subscribed', resource: msg.resource }))
            }
            case 'unsubscribe': {
              if (typeof msg.resource !== 'string')
                return error('GW_ERR_EVENTS_PATTERN', ['Expected `resource` to be a pattern (string)'])
              patterns.delete(msg.resource)
              return client.send(JSON.stringify({ type: 'unsubscribed', resource: msg.resource }))
            }
            case 'ping':
              return client.send('{"type":"pong"}')
            default:
              return error('GW_ERR_EVENTS_MESSAGE', [
                `Expected \`type\` to be subscribe, unsubscribe or ping, got ${JSON.stringify(msg.type ?? null)}`,
              ])
          }
        })
        client.start()
      })
    },
  )

  app.addHook('onClose', (_app, done) => {
    app.server.off('upgrade', onUpgrade)
    wss.close()
    done()
  })
}
