/**
 * The publish ACL of the broker's authentication (docs/security.md), as a pure decision. The aedes adapter is
 * broker-auth.ts.
 * @module
 */

import { CONTROLLER_TOPIC, clientPresenceTopic, localControllerTopic } from '../protocol/index.ts'

/** Allowed, or refused with a reason. */
export type Decision = { allow: true } | { allow: false; reason: string }

/** Everything {@link publishDecision} decides on. */
export interface PublishInput {
  /** The publishing client's id; `undefined` for a publish without a client (refused). */
  clientId: string | undefined
  topic: string
  /** The controller's local id: `/<localId>/controller` is publishable too [WP-1]. */
  localId?: string | undefined
}

/**
 * A client may publish to `/controller`, `/<localId>/controller` and its own will topic
 * `/controller/presence/<client id>` (§2.1), nowhere else (MQTT 3.1.1 has no negative PUBACK: aedes closes the
 * connection; a will for another topic is dropped).
 */
export function publishDecision(input: PublishInput): Decision {
  const { clientId, topic, localId } = input
  if (
    clientId !== undefined &&
    (topic === CONTROLLER_TOPIC ||
      (localId ? topic === localControllerTopic(localId) : false) ||
      topic === clientPresenceTopic(clientId))
  )
    return { allow: true }
  return { allow: false, reason: `publishing to '${topic}' is not allowed` }
}
