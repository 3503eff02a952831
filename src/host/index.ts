/**
 * The shared bundle host: several JavaScript bundles in one Node process, one worker thread each (docs/host.md).
 * @module
 */
export { BundleHost } from './bundle-host.ts'
export { hostSpecFromDir } from './host-spec.ts'
export {
  HOST_DEFAULTS,
  HostedBundle,
  type HostedBundleSpec,
  type HostedExit,
  type HostedState,
  type HostedStatus,
  type HostLimits,
} from './hosted-bundle.ts'
