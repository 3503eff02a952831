/**
 * Every topic string of the protocol (wire-protocol.md §2.1). The only place topic text is spelled.
 * @module
 */

/** Where every peer publishes requests, responses, events and registration calls. */
export const CONTROLLER_TOPIC = '/controller'
/** The same, from a remote peer, when the controller has a local id. */
export function localControllerTopic(localId: string): string {
  return `/${localId}/controller`
}
/** The controller's presence announcements (§8.4). */
export const PRESENCE_TOPIC = '/controller/presence'
/** A bundle connection's presence (its will) (§8.3). */
export function clientPresenceTopic(clientId: string): string {
  return `${PRESENCE_TOPIC}/${clientId}`
}
/** Subscription filter for every bundle connection's presence. */
export const CLIENT_PRESENCE_FILTER = `${PRESENCE_TOPIC}/+`
/** The client id, when `topic` is a bundle presence topic. */
export function presenceClientId(topic: string): string | undefined {
  const prefix = `${PRESENCE_TOPIC}/`
  if (!topic.startsWith(prefix)) return undefined
  const id = topic.slice(prefix.length)
  return id.length > 0 && !id.includes('/') ? id : undefined
}

/** Resources of the built-in components (§4.1). */
export const REGISTRATION_RESOURCE = '/controller/registration'
export const DEPENDENCY_RESOURCE = '/controller/resource/dependency'

/** A tunnel is any non-empty topic name without wildcards (§2.1). */
export function isValidTunnel(topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#') && !topic.includes('\u0000')
}
