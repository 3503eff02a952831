/**
 * A gateway's id in the fleet: `cg-` and 1–64 of `[A-Za-z0-9_]`, the `cg-<id>` of wire-protocol.md §7 that
 * `src/web/map-resource.ts` maps to `/remote/cg-<id>` (bounded here: it is also a topic level). The config
 * schema's `fleet.localId` pattern is the same text (test/fleet/fleet-units.test.ts keeps them in step).
 */
export const GATEWAY_ID_SOURCE = 'cg-[A-Za-z0-9_]{1,64}'

const GATEWAY_ID = new RegExp(`^${GATEWAY_ID_SOURCE}$`)

/** Whether `s` is a gateway id (a topic level free of wildcards and slashes). */
export function isGatewayId(s: unknown): s is string {
  return typeof s === 'string' && GATEWAY_ID.test(s)
}
