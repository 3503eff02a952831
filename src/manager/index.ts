/** The bundle manager (docs/manager.md): installs, starts, supervises, logs and upgrades bundles. */
export type {
  BundleManagerApi,
  InstallOptions,
  LastExit,
  LogLine,
  ManagedInfo,
  ManagedState,
  ManagerEvent,
} from './types.ts'
