/**
 * Observability: the gateway's Prometheus metrics (one registry per gateway), bounded labels, the console's
 * per-bundle overview, and the optional separate metrics listener (docs/observability.md).
 * @module
 */
export { BundleWindows, type BundleWindowView } from './bundle-window.ts'
export {
  type BundleCall,
  DEFAULT_LABEL_LIMIT,
  GatewayMetrics,
  type GatewayMetricsOptions,
  type PushStats,
} from './gateway-metrics.ts'
export { LabelCap, OTHER } from './label-cap.ts'
export { type MetricsListener, startMetricsListener } from './metrics-listener.ts'
export { PatternResolver, UNMATCHED } from './pattern-resolver.ts'
