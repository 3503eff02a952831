/**
 * Paths the web service serves itself under `/api/v1` ([HA-11]): no bundle may register them or anything below them,
 * and a request for them is never forwarded to a bundle, whatever its method.
 */
export const GATEWAY_PREFIXES: readonly string[] = [
  '/tokens',
  '/auth',
  '/bundles',
  '/events',
  '/ws',
  '/openapi.json',
  '/metrics',
  '/files',
  '/helper',
  '/gateways',
]

/** The controller's own resources (registration, dependency): reachable over HTTP with an admin token only. */
export const CONTROLLER_PREFIX = '/controller'

/** Whether `path` (a resource without its query) is `prefix` or below it. */
export function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`)
}
