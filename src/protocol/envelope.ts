/**
 * The MQTT envelope of the Sanji wire protocol (wire-protocol.md §3.1).
 * @module
 */

/** A JSON value as it travels on the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A JSON object. */
export type JsonObject = { [key: string]: Json }

/**
 * One message on the wire. Every field is optional because peers send all kinds of shapes; the classifiers
 * (classify.ts) decide what a message is. Unknown keys are carried along unchanged [WP-10].
 */
export interface Envelope {
  id?: Json
  method?: Json
  resource?: Json
  data?: Json
  code?: Json
  sign?: Json
  tunnel?: Json
  [key: string]: Json | undefined
}

/** The caller identity the web service adds to the requests it forwards [WP-60]. */
export interface Caller {
  token: string
  scope: 'read' | 'readwrite' | 'admin'
}

/** Payloads larger than this are refused (wire-protocol.md §8.9). */
export const MAX_PAYLOAD_BYTES = 1_048_576
/** Request resources and registration patterns longer than this are refused (§8.9). */
export const MAX_RESOURCE_CHARS = 1023
/** Sign used by every message the controller builds [WP-9]. */
export const CONTROLLER_SIGN = 'controller'

/** True for a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
