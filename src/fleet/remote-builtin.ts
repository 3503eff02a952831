import type { BuiltinAnswer, BuiltinHandler } from '../controller/index.ts'
import type { ErrorCallArgs, ErrorCode } from '../errors.ts'
import { type Envelope, isObject, type Json, MAX_RESOURCE_CHARS, resourceName } from '../protocol/index.ts'
import { errorReply } from '../web/index.ts'
import { isGatewayId } from './gateway-id.ts'
import type { RemoteAnswer } from './remote-caller.ts'

/** The pattern the fleet's built-in serves (wire-protocol.md §7) [WP-69]. */
export const REMOTE_PATTERN = '/remote/+'

/** §7 nesting: the built-in always answers 200 with the remote answer in `data`, `{code, data}`. */
function nested(a: RemoteAnswer): BuiltinAnswer {
  return { code: 200, data: { code: a.code, data: a.data } }
}

function refused<C extends ErrorCode>(
  code: C,
  ...rest: ErrorCallArgs<C, Record<string, unknown>>
): BuiltinAnswer {
  const r = errorReply(code, ...rest)
  return nested({ code: r.status, data: r.body as unknown as Json })
}

/**
 * The built-in model on `/remote/+` [WP-69]: a request for `/remote/cg-<id>` with `data = {resource, method, data}`
 * (§7) is sent to gateway `cg-<id>` over the uplink, and its answer comes back nested, so the web service's §7
 * unwrapping gives status = the remote code and body = the remote data. MQTT peers on the local broker that
 * publish to `/remote/cg-<id>` themselves get the same answer: it is a model like any other to them.
 *
 * The inner method must be the outer one (a GET must not carry a PUT: the outer method is what the token's scope
 * was checked against), and a `read` caller may only read.
 */
export function remoteBuiltin(
  call: (target: string, method: string, resource: string, data: Json) => Promise<RemoteAnswer>,
): BuiltinHandler {
  return (request: Envelope) => {
    const target = resourceName(request.resource as string).slice('/remote/'.length)
    if (!isGatewayId(target)) return refused('GW_ERR_FLEET_BAD_REQUEST', [`'${target}' is not a gateway id`])
    const d = request.data
    if (!isObject(d) || typeof d.resource !== 'string' || typeof d.method !== 'string')
      return refused('GW_ERR_FLEET_BAD_REQUEST', ['data must be {resource, method, data}'])
    if (!d.resource.startsWith('/') || d.resource.length > MAX_RESOURCE_CHARS)
      return refused('GW_ERR_FLEET_BAD_REQUEST', ['data.resource must be a path'])
    const method = d.method.toLowerCase()
    const outer = String(request.method).toLowerCase()
    if (method !== outer)
      return refused('GW_ERR_FLEET_BAD_REQUEST', [`data.method '${method}' is not the request's '${outer}'`])
    const caller = request.caller
    if (isObject(caller) && caller.scope === 'read' && method !== 'get')
      return refused('GW_ERR_FLEET_SCOPE', [target, 'this token', method])
    return call(target, method, d.resource, d.data === undefined ? {} : d.data).then(nested)
  }
}
