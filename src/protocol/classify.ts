import type { Envelope } from './envelope.ts'
import { isValidTunnel } from './topics.ts'

/** Message types as the SDKs see them (wire-protocol.md §3.2, SDK rule). */
export type SdkMessageType = 'RESPONSE' | 'REQUEST' | 'DIRECT' | 'EVENT' | 'HOOK' | 'UNKNOWN'

/** "Has" in the SDK rule: the key is present with any value other than JSON false (null and 0 count). */
function has(message: Envelope, key: string): boolean {
  return Object.hasOwn(message, key) && message[key] !== false && message[key] !== undefined
}

const SDK_RULES: ReadonlyArray<readonly [SdkMessageType, readonly string[], readonly string[]]> = [
  ['RESPONSE', ['id', 'code', 'method', 'resource', 'sign'], ['tunnel']],
  ['REQUEST', ['id', 'method', 'resource'], ['code', 'sign', 'tunnel']],
  ['DIRECT', ['id', 'method', 'resource', 'tunnel'], ['code', 'sign']],
  ['EVENT', ['code', 'method', 'resource'], ['id', 'sign', 'tunnel']],
  ['HOOK', ['id', 'method', 'resource', 'sign'], ['code', 'tunnel']],
]

/** Classifies a message by the SDK rule: the first row that fits wins, else UNKNOWN. */
export function classifySdk(message: Envelope): SdkMessageType {
  for (const [type, must, mustNot] of SDK_RULES) {
    if (must.every((k) => has(message, k)) && !mustNot.some((k) => has(message, k))) return type
  }
  return 'UNKNOWN'
}

/** Message kinds as the controller sees them (§3.2, controller rule). */
export type ControllerMessageKind = 'EVENT' | 'REQUEST' | 'RESPONSE'

/** The numeric id of a message, or undefined for "no id" (absent, non-numeric or 0) [WP-5]. */
export function messageId(message: Envelope): number | undefined {
  const id = message.id
  return typeof id === 'number' && Number.isFinite(id) && id !== 0 ? id : undefined
}

/** The direct-request tunnel: a non-empty string, else undefined (plain request) [WP-6][§8.11]. */
export function directTunnel(message: Envelope): string | undefined {
  const t = message.tunnel
  // A tunnel is a topic name without wildcards (§2.1): publishing to `#` would break the MQTT protocol (an external
  // broker drops the controller's connection). Such a request is treated as plain, like a non-string tunnel.
  return typeof t === 'string' && isValidTunnel(t) ? t : undefined
}

/**
 * Classifies a message on `/controller` by the controller rule [WP-5][WP-6][WP-7]:
 * no id → EVENT; id and no numeric code → REQUEST; id and numeric code → RESPONSE.
 */
export function classifyController(message: Envelope): ControllerMessageKind {
  if (messageId(message) === undefined) return 'EVENT'
  return typeof message.code === 'number' ? 'RESPONSE' : 'REQUEST'
}
