/**
 * The fleet: an uplink to a central MQTT broker, remote calls `/api/v1/cg-<id>/…` through the `/remote/+`
 * built-in, presence and inventory, per-peer trust (docs/fleet.md, wire-protocol.md §10).
 * @module
 */
export { FleetDirectory, type PeerView } from './directory.ts'
export { type Fleet, type FleetDeps, startFleet } from './fleet.ts'
export { GATEWAY_ID_SOURCE, isGatewayId } from './gateway-id.ts'
export { REMOTE_PATTERN } from './remote-builtin.ts'
export { parseFleetTopic, presenceTopic, replyTopic, requestTopic, subscriptionsOf } from './topics.ts'
export { parseTrust, type TrustScope, trustRefusal } from './trust.ts'
export { uplinkBackoffMs } from './uplink.ts'
