/**
 * `TestGateway.request`: a request through the real web service (routing, auth, scopes, HTTP mapping), injected
 * in-process (no socket).
 * @module
 */
import type { Json } from '../protocol/index.ts'
import type { Gateway } from '../server.ts'
import type { HttpAnswer, HttpRequestOptions } from './test-gateway.ts'

const PASS_THROUGH_PATHS = /^\/(api\/|health$|ready$)/

/** Sends `method resource` with `data` as JSON and the root `token` unless `requestOptions.token` says otherwise. */
export async function injectRequest<T = Json>(
  gateway: Gateway,
  token: string,
  method: string,
  resource: string,
  data?: Json,
  requestOptions: HttpRequestOptions = {},
): Promise<HttpAnswer<T>> {
  const url = PASS_THROUGH_PATHS.test(resource) ? resource : `/api/v1${resource}`
  const headers: Record<string, string> = { ...requestOptions.headers }
  const secret = requestOptions.token === undefined ? token : requestOptions.token
  if (secret) headers['mx-api-token'] = secret
  let payload: string | undefined
  if (data !== undefined) {
    headers['content-type'] ??= 'application/json'
    payload = JSON.stringify(data)
  }
  const res = await gateway.http.inject({
    method: method.toUpperCase() as 'GET',
    url,
    headers,
    ...(payload === undefined ? {} : { payload }),
  })
  let body: unknown = null
  if (res.body !== '') {
    try {
      body = JSON.parse(res.body)
    } catch {
      body = res.body
    }
  }
  return { status: res.statusCode, body: body as T, headers: res.headers }
}
