/**
 * The gateway's metrics: collected unless `metrics.enabled` is false, served on a listener of their own when
 * `metrics.host` is set (else on the web service's `/metrics`; docs/observability.md).
 * @module
 */
import type { Config } from '../config/index.ts'
import type { Logger } from '../logger.ts'
import { GatewayMetrics, type MetricsListener, startMetricsListener } from '../metrics/index.ts'
import type { Closers } from './closers.ts'

/** The gateway's metrics, or `undefined` when `metrics.enabled` is false. */
export function openMetrics(cfg: Readonly<Config>, closers: Closers): GatewayMetrics | undefined {
  const metrics = cfg.metrics.enabled ? new GatewayMetrics() : undefined
  if (metrics) closers.add(() => metrics.close())
  return metrics
}

/** Starts the separate metrics listener when there are metrics and `metrics.host` is set. */
export async function listenMetrics(
  cfg: Readonly<Config>,
  metrics: GatewayMetrics | undefined,
  logger: Logger,
  closers: Closers,
): Promise<MetricsListener | undefined> {
  if (!metrics || !cfg.metrics.host) return undefined
  const ml = await startMetricsListener(metrics, {
    host: cfg.metrics.host,
    port: cfg.metrics.port,
    logger,
    accessLog: cfg.metrics.accessLog,
  })
  closers.add(() => ml.close())
  return ml
}
