import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { GatewayMetrics } from './gateway-metrics.ts'

/** The separate metrics listener (config `metrics.host`/`metrics.port`). */
export interface MetricsListener {
  /** `http://host:port`. */
  readonly url: string
  close(): Promise<void>
}

/**
 * Serves `GET /metrics` (Prometheus text format) and nothing else on its own port, without a token: for a scraper on
 * a management network, while the web service stays behind API tokens. Bind it to an interface only the scraper
 * reaches (docs/observability.md).
 */
export async function startMetricsListener(
  metrics: GatewayMetrics,
  options: { host: string; port: number; logger: Logger; accessLog: boolean },
): Promise<MetricsListener> {
  const log = options.logger.child({ component: 'metrics' })
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: 'only GET /metrics is served here', code: 'GW_ERR_NOT_FOUND' }))
      return
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType })
        res.end(req.method === 'HEAD' ? undefined : text)
        if (options.accessLog) log.info({ method: req.method, path, status: 200 }, 'scrape')
      },
      (err: unknown) => {
        log.error({ err }, 'metrics not rendered')
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ message: 'internal error', code: 'GW_ERR_INTERNAL' }))
      },
    )
  })
  server.requestTimeout = 10_000
  server.headersTimeout = 5_000
  server.listen({ host: options.host, port: options.port })
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => Promise.reject(err as Error)),
    ])
  } catch (err) {
    server.close()
    throw createError('GW_ERR_METRICS_LISTEN', [options.host, options.port, (err as Error).message], {
      cause: err,
    })
  }
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const url = `http://${host}:${port}`
  log.info({ url: `${url}/metrics` }, 'metrics listener started')
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
