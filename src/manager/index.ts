/** The bundle manager (docs/manager.md): installs, starts, supervises, logs and upgrades bundles. */

export { BundleManager, type BundleManagerOptions } from './bundle-manager.ts'
export type {
  BundleManagerApi,
  InstallOptions,
  LastExit,
  LogLine,
  ManagedInfo,
  ManagedState,
  ManagerEvent,
} from './types.ts'
