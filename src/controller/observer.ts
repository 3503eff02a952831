/**
 * What the controller tells an observer (the gateway's metrics, docs/observability.md). Every method is optional and
 * called synchronously on the controller's path: it must only count, never block or throw.
 */
export interface ControllerObserver {
  /** A session step's ttl expired before every model answered [WP-34]; `bundle` is the one that was late. */
  expired?(bundle: string | undefined): void
  /** A queued request left the queue (routed, or refused 423 at its wait's end) after `waitMs` (§8.6). */
  dequeued?(waitMs: number): void
}
