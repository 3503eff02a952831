import { Readable } from 'node:stream'
import { type ApiResponse, DEFAULT_TIMEOUT_MS, fetchApi } from './web-client.ts'

/**
 * `callApi` with a streamed body: `<base>/api/v1<resource>` with `body` sent as it is read (never held whole in
 * memory), of type `contentType`.
 * @throws GW_ERR_CLI_HTTP when the web service cannot be reached or does not answer within `timeoutMs`.
 */
export async function callApiStream(
  base: string,
  method: string,
  resource: string,
  options: { token?: string | undefined; body: Readable; contentType: string; timeoutMs?: number },
): Promise<ApiResponse> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': options.contentType }
  if (options.token !== undefined) headers['mx-api-token'] = options.token
  const init = {
    headers,
    body: Readable.toWeb(options.body) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit
  try {
    return await fetchApi(base, method, resource, init, options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
  } finally {
    options.body.destroy()
  }
}
