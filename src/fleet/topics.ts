import { isGatewayId } from './gateway-id.ts'

/**
 * The fleet's topics on the central broker (wire-protocol.md §10). Everything a gateway publishes lies under its own
 * `/fleet/<id>/`, which the broker's ACL confines it to (`pattern write /fleet/%u/#`): the first id level of any
 * fleet topic therefore names its publisher, unforgeably, and requests and replies are addressed by the second.
 *
 * | topic                              | publisher | content                                      |
 * | ---------------------------------- | --------- | -------------------------------------------- |
 * | `/fleet/<id>/presence`             | `<id>`    | retained presence and inventory (its will: offline) |
 * | `/fleet/<caller>/req/<target>`     | caller    | a request for `<target>`                     |
 * | `/fleet/<target>/res/<caller>`     | target    | the answer to `<caller>`                     |
 */
export const FLEET_ROOT = '/fleet'

export function presenceTopic(id: string): string {
  return `${FLEET_ROOT}/${id}/presence`
}

export function requestTopic(caller: string, target: string): string {
  return `${FLEET_ROOT}/${caller}/req/${target}`
}

export function replyTopic(target: string, caller: string): string {
  return `${FLEET_ROOT}/${target}/res/${caller}`
}

/** What a gateway subscribes: every presence, the requests for it, the answers to it. */
export function subscriptionsOf(id: string): string[] {
  return [`${FLEET_ROOT}/+/presence`, `${FLEET_ROOT}/+/req/${id}`, `${FLEET_ROOT}/+/res/${id}`]
}

/** A fleet topic taken apart: its publisher, its kind, and whom it is for (requests and replies). */
export type FleetTopic =
  | { kind: 'presence'; from: string }
  | { kind: 'req' | 'res'; from: string; to: string }

/** Parses a topic received on the uplink; undefined for anything not shaped like a fleet topic with valid ids. */
export function parseFleetTopic(topic: string): FleetTopic | undefined {
  const parts = topic.split('/')
  if (parts[0] !== '' || `/${parts[1]}` !== FLEET_ROOT || !isGatewayId(parts[2])) return undefined
  const from = parts[2]
  if (parts.length === 4 && parts[3] === 'presence') return { kind: 'presence', from }
  if (parts.length === 5 && (parts[3] === 'req' || parts[3] === 'res') && isGatewayId(parts[4]))
    return { kind: parts[3], from, to: parts[4] }
  return undefined
}
