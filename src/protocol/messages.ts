import { CONTROLLER_SIGN, type Envelope, type Json } from './envelope.ts'

/** The fields of a message the controller builds. */
export interface ControllerMessageInit {
  id: number
  code: number
  method: string
  resource: string
  data?: Json | undefined
}

/**
 * A message built by the controller (§5.7): `method` upper-cased and always present [WP-8], `sign` is
 * `["controller"]` and there is never a `tunnel` [WP-9]; `data` is left out when there is nothing to say.
 */
export function controllerMessage(init: ControllerMessageInit): Envelope {
  const msg: Envelope = {
    id: init.id,
    code: init.code,
    method: init.method.toUpperCase(),
    resource: init.resource,
    sign: [CONTROLLER_SIGN],
  }
  if (init.data !== undefined) msg.data = init.data
  return msg
}

/**
 * A bundle's response to a request, built as the Python SDK builds it (§6 item 6): a copy of the request without
 * `tunnel`, `param`, `query` and keys starting with `_`; `code` and `data` (null when none) set; the bundle name
 * appended to `sign` (created when missing). Unknown keys, `caller` included, are echoed.
 */
export function bundleResponse(
  request: Envelope,
  code: number,
  data: Json | undefined,
  bundleName: string,
): Envelope {
  const out: Envelope = {}
  for (const key of Object.keys(request)) {
    if (key === 'tunnel' || key === 'param' || key === 'query' || key.startsWith('_')) continue
    out[key] = request[key]
  }
  out.code = code
  out.data = data === undefined ? null : data
  out.sign = Array.isArray(request.sign) ? [...request.sign, bundleName] : [bundleName]
  return out
}

/** True when `method` is a write: anything but `get`, compared case-insensitively (§1). */
export function isWrite(method: string): boolean {
  return method.toLowerCase() !== 'get'
}
