import type { Caller, Envelope, Json, Query } from '../protocol/index.ts'
import type { IncomingFile, UploadTarget } from './files.ts'

/** HTTP-like methods a route can serve. */
export type Method = 'get' | 'post' | 'put' | 'delete'

/** What a request handler receives (wire-protocol.md §6): the request with `param` and `query` filled in. */
export interface RequestMessage {
  /** Correlation id; answers reuse it. */
  readonly id: number
  /** Lower-cased method. */
  readonly method: string
  /** The resource as received, query string included. */
  readonly resource: string
  /** The request body (undefined when none was sent). */
  readonly data: Json | undefined
  /** Captured `:params` of the route. */
  readonly param: Readonly<Record<string, string>>
  /** The parsed query string (Python-compatible rules). */
  readonly query: Readonly<Query>
  /** Who called through the gateway (token id and scope), when the gateway vouches for it. */
  readonly caller: Caller | undefined
  /** The responders so far (hook steps). */
  readonly sign: readonly string[] | undefined
  /**
   * The id of the HTTP request this call serves (the envelope's `requestId`, wire-protocol.md §3.1), when the gateway
   * (or a calling bundle) sent a valid one: put it in your log lines. The SDK's own lines for the request carry it.
   */
  readonly requestId: string | undefined
  /** The message as it arrived on the wire. */
  readonly raw: Readonly<Envelope>
  /** The uploaded file (the upload helper's `data.file`, else the first of `data.files`), wire-protocol.md §7. */
  readonly file?: IncomingFile
  /** The uploaded files by form field (`data.files`), when several were sent. */
  readonly files?: Readonly<Record<string, IncomingFile>>
  /** The download helper's `{url, headers}`: where `this.files.put()` uploads while answering this request. */
  readonly upload?: UploadTarget
}

/** What an event handler receives: an EVENT, or the final answer of a request on a resource this bundle views. */
export interface EventMessage {
  readonly method: string
  readonly resource: string
  readonly code: number | undefined
  readonly data: Json | undefined
  readonly param: Readonly<Record<string, string>>
  readonly query: Readonly<Query>
  readonly raw: Readonly<Envelope>
}

/** The answer of a handler. */
export interface Answer {
  /** @default 200 */
  code?: number
  data?: Json
}

/** Sends the answer; a second call is ignored with a warning. */
export type Respond = (answer?: Answer) => void

/**
 * A request handler. Answer by calling `response`, by returning a value (→ 200 with it as data), or by throwing
 * (a `BundleError` → its code; anything else → 500 "Internal Error.").
 */
export type RequestHandler = (message: RequestMessage, response: Respond) => unknown

/** An event handler. */
export type EventHandler = (message: EventMessage) => unknown

/** The answer to a request this bundle made (wire-protocol.md §3.3 RESPONSE). */
export interface ResponseMessage {
  readonly id: number
  readonly code: number
  readonly method: string
  readonly resource: string
  readonly data: Json | undefined
  readonly sign: readonly string[]
  readonly raw: Readonly<Envelope>
}
