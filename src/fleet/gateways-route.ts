import type { FastifyInstance } from 'fastify'
import type { Json } from '../protocol/index.ts'
import { API_PREFIX, type EventHub, errorReply } from '../web/index.ts'
import type { FleetDirectory, PeerView } from './directory.ts'

/** What `GET /api/v1/gateways` says about this gateway itself. */
export interface FleetSelf {
  localId: string
  hub: boolean
  uplink: { url: string; connected: boolean }
}

/**
 * `GET /api/v1/gateways` (read scope): this gateway and the fleet as it sees it; `GET /api/v1/gateways/<id>`: one
 * peer (404 when never seen). Push events on `/gateways/<id>` (`put`, data = the peer plus `change`: `online`,
 * `offline`, `updated`) when a peer comes, goes or changes its inventory.
 */
export function gatewaysRoutes(
  app: FastifyInstance,
  deps: { directory: FleetDirectory; self: () => FleetSelf; hub: EventHub },
): () => void {
  app.get(`${API_PREFIX}/gateways`, { config: { auth: 'read' } }, async () => ({
    self: deps.self(),
    gateways: deps.directory.list() as unknown as Json,
  }))
  app.get<{ Params: { id: string } }>(
    `${API_PREFIX}/gateways/:id`,
    { config: { auth: 'read' } },
    async (request, reply) => {
      const view = deps.directory.view(request.params.id)
      if (view) return view
      const r = errorReply('GW_ERR_NOT_FOUND', ['GET', request.url])
      return reply.code(r.status).send(r.body)
    },
  )
  return deps.directory.onChange((change, peer: PeerView) => {
    deps.hub.publish({
      resource: `/gateways/${peer.id}`,
      method: 'put',
      code: 200,
      data: { change, ...peer } as unknown as Json,
    })
  })
}
