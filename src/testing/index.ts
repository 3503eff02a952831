/**
 * Bundlegate test kit (`import { startTestGateway } from 'bundlegate/testing'`): an in-process gateway on free
 * loopback ports with a temp data directory, the bundles under test started against it, requests over HTTP (through
 * the web service) or straight to the controller, and a close() that leaves nothing behind.
 * @module
 */

export type { LogLine } from './log-capture.ts'
export {
  type HttpAnswer,
  type HttpRequestOptions,
  type StartBundleOptions,
  startTestGateway,
  type TestGateway,
  type TestGatewayOptions,
  type WireAnswer,
} from './test-gateway.ts'
