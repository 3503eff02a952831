import { type IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { WebSocketServer } from 'ws'
import { createError } from '../../errors.ts'
import { MAX_JSON_DEPTH } from '../../protocol/index.ts'
import { API_PREFIX } from '../map-resource.ts'
import { pushClientSet } from './push-client-set.ts'
import { pushRequest } from './push-request.ts'
import type { PushRouteDeps } from './push-route-deps.ts'
import { startWsClient } from './ws-client.ts'

/** The socket and head of an upgrade request, kept on the request while fastify routes it. */
const kUpgrade = Symbol('bundlegate.upgrade')
type UpgradeRequest = IncomingMessage & { [kUpgrade]?: { socket: Duplex; head: Buffer } }

/** Client messages are small: subscribe, unsubscribe, ping. */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024

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
  const detach = routeUpgrades(app)
  app.get(
    `${API_PREFIX}/ws`,
    { exposeHeadRoute: false, config: { auth: 'read', queryToken: true } },
    (request, reply) => {
      const upgrade = (request.raw as UpgradeRequest)[kUpgrade]
      if (!upgrade || String(request.headers.upgrade).toLowerCase() !== 'websocket')
        throw createError('GW_ERR_EVENTS_UPGRADE_REQUIRED')
      const push = pushRequest(request, deps, false)
      reply.hijack()
      delete (request.raw as UpgradeRequest)[kUpgrade]
      wss.handleUpgrade(request.raw, upgrade.socket, upgrade.head, (ws) => {
        const clientLog = log.child({ transport: 'ws', client: nextClient++, tokenId: push.who.tokenId })
        ;(upgrade.socket as Partial<{ setNoDelay(b: boolean): void }>).setNoDelay?.(true)
        startWsClient(ws, { ...route, ...push, log: clientLog }, maxDepth)
      })
    },
  )
  app.addHook('onClose', (_app, done) => {
    detach()
    wss.close()
    done()
  })
}

/**
 * Every upgrade request is routed through fastify (hooks, auth, 404 for other paths); only the WebSocket route
 * upgrades. Returns the function that stops listening.
 */
function routeUpgrades(app: FastifyInstance): () => void {
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
  return () => app.server.off('upgrade', onUpgrade)
}
