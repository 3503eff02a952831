/**
 * The subscribe ACL of the broker's authentication (docs/security.md), as a pure decision. The aedes adapter is
 * broker-auth.ts; who holds which reply tunnel is reply-tunnels.ts.
 * @module
 */

import { CONTROLLER_TOPIC, localControllerTopic, PRESENCE_TOPIC } from '../protocol/index.ts'
import { mayActFor } from './registration-rule.ts'

/** Our controller's tunnels are decimal strings of a number below 2^31 (wire-protocol.md §4.2). */
const COMPONENT_TUNNEL = /^\d{1,10}$/

/** Everything {@link subscribeDecision} decides on. */
export interface SubscribeInput {
  topic: string
  /** The user the subscribing client authenticated as; `undefined` when it did not (refused). */
  user: string | undefined
  /** The controller's local id: `/<localId>/controller` is one of its topics. */
  localId?: string | undefined
  /** When `topic` is a component's tunnel: that component, and the user whose client registered it. */
  tunnel: { component: string; registeredBy: string | undefined } | undefined
  /** The user that holds `topic` as its reply tunnel now, if any. */
  replyHolder: string | undefined
}

/** Allowed (`holdReplyTunnel`: the topic becomes, or stays, the subscribing user's reply tunnel), or refused. */
export type SubscribeDecision = { allow: true; holdReplyTunnel: boolean } | { allow: false; reason: string }

/**
 * No wildcards, no `$…` and no `/controller…` topic except `/controller/presence`; a component tunnel only for the
 * user that acts for the component; a topic shaped like one of our tunnels that belongs to nobody yet is refused
 * too (no waiting on a tunnel before it is handed out). Any other topic is a reply tunnel: it belongs to the first
 * user that subscribes to it, other users are refused while a client of that user holds it. Refusals are SUBACK
 * 0x80; the connection stays.
 */
export function subscribeDecision(input: SubscribeInput): SubscribeDecision {
  const { topic, user, localId, tunnel } = input
  const refuse = (reason: string): SubscribeDecision => ({ allow: false, reason })
  if (user === undefined) return refuse('not authenticated')
  if (topic.includes('#') || topic.includes('+')) return refuse('wildcards are not allowed')
  if (topic.startsWith('$')) return refuse('system topics are not allowed')
  if (topic === PRESENCE_TOPIC) return { allow: true, holdReplyTunnel: false }
  if (
    topic === CONTROLLER_TOPIC ||
    topic.startsWith(`${CONTROLLER_TOPIC}/`) ||
    (localId ? topic === localControllerTopic(localId) : false)
  )
    return refuse("the controller's topics are not readable")
  if (tunnel !== undefined)
    return mayActFor(user, tunnel.component, tunnel.registeredBy)
      ? { allow: true, holdReplyTunnel: false }
      : refuse(`tunnel of component '${tunnel.component}'`)
  if (COMPONENT_TUNNEL.test(topic)) return refuse('not a tunnel handed out to this client')
  const holder = input.replyHolder
  if (holder !== undefined && holder !== user) return refuse(`reply tunnel of another user ('${holder}')`)
  return { allow: true, holdReplyTunnel: true }
}
