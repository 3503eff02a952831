import { STATUS_CODES } from 'node:http'
import { Readable } from 'node:stream'
import { createError } from '../errors.ts'
import { type ApiResponse, DEFAULT_TIMEOUT_MS } from './web-client.ts'

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
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  let res: Response
  let text: string
  try {
    res = await fetch(`${base}/api/v1${resource}`, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      body: Readable.toWeb(options.body) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit)
    text = await res.text()
  } catch (err) {
    const e = err as Error & { cause?: Error }
    const reason =
      e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.message ?? e.message)
    throw createError('GW_ERR_CLI_HTTP', [base, reason], { cause: err })
  } finally {
    options.body.destroy()
  }
  let body: unknown
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  return { status: res.status, reason: res.statusText || STATUS_CODES[res.status] || '', body }
}
