import { type Agent, request } from 'node:http'

/** An HTTP answer: status and body text. */
export interface HttpAnswer {
  status: number
  body: string
}

/**
 * One HTTP request on `agent` (`false`: a fresh connection), resolved with the status and the whole body; rejected
 * when no answer arrives within `timeoutMs`. Shared by the soak and the load test.
 */
export function httpSend(
  agent: Agent | false,
  url: string | URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(url, { method, agent, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}
