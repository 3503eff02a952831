/**
 * The bundle manager's contract (issue 15): what the gateway, the CLI and the console see of it. The manager itself
 * (`bundle-manager.ts`), its parts (tarball unpacking, per-bundle logs, launch, memory sampling) and its HTTP routes
 * are built against these types; docs/manager.md describes them for users.
 * @module
 */

/** A managed bundle's state (docs/manager.md "States"). */
export type ManagedState =
  | 'installed'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'stopped'
  | 'backoff'
  | 'broken'

/** How a bundle's last run ended. */
export interface LastExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null
  signal: string | null
  /** ISO time. */
  at: string
  /** Why the manager counts it: `exit`, `startup-timeout`, `memory-limit`, `probation`, `spawn-error`, `stopped`. */
  reason: string
}

/** The manager's view of one installed bundle (the `managed` field of `GET /api/v1/bundles` items). */
export interface ManagedInfo {
  name: string
  /** The version that runs (or would run). */
  version: string
  /** The version kept for rollback, if any. */
  previousVersion: string | null
  state: ManagedState
  /** Started at gateway start (kept across restarts). */
  enabled: boolean
  priority: number
  dependencies: string[]
  /** Restarts since the gateway started (failures that led to a new start). */
  restarts: number
  lastExit: LastExit | null
  /** ISO time the current run started; null unless starting/running/stopping. */
  startedAt: string | null
  /** Seconds in `running`; 0 otherwise. */
  uptimeSec: number
  pid: number | null
  /** Resident memory of the bundle's process tree, bytes; null when not running or unknown. */
  rssBytes: number | null
  /** Configured memory limit, bytes; null: none. */
  memoryLimitBytes: number | null
  /** ISO time of the next start attempt (backoff, broken); null otherwise. */
  nextRetryAt: string | null
  /** A one-line human explanation of the state (e.g. "rolled back from 1.2.0: never registered"). */
  message: string
  /** Lines dropped by the log rate cap since the gateway started. */
  droppedLogLines: number
}

/** One line a bundle printed. */
export interface LogLine {
  /** ISO time. */
  at: string
  stream: 'stdout' | 'stderr' | 'manager'
  line: string
}

/** Push-channel event data for a managed bundle's state change, on resource `/bundles/<name>`. */
export interface ManagerEvent {
  name: string
  state: ManagedState
  previousState: ManagedState
  managed: ManagedInfo
}

/** Options of an install. */
export interface InstallOptions {
  /** Allow installing a version lower than the one installed. */
  allowDowngrade?: boolean
  /** Start it after installing (default true, unless it is disabled). */
  start?: boolean
}

/** What the gateway, the CLI and the HTTP routes call. Every method that changes state resolves once done. */
export interface BundleManagerApi {
  list(): ManagedInfo[]
  get(name: string): ManagedInfo | undefined
  /** Install or upgrade from an unpacked bundle directory (copied; the source is left as it is). */
  installDirectory(dir: string, options?: InstallOptions): Promise<ManagedInfo>
  /** Install or upgrade from a gzip'ed tar stream (size-capped, checked before anything is placed). */
  installTarball(source: NodeJS.ReadableStream, options?: InstallOptions): Promise<ManagedInfo>
  start(name: string): Promise<ManagedInfo>
  stop(name: string): Promise<ManagedInfo>
  restart(name: string): Promise<ManagedInfo>
  setEnabled(name: string, enabled: boolean): Promise<ManagedInfo>
  /** Switch to the previous version on request. */
  rollback(name: string): Promise<ManagedInfo>
  /** Stop, revoke its token and credentials, remove its code; its data directory too when `purge`. */
  uninstall(name: string, options?: { purge?: boolean }): Promise<void>
  /** The last `n` lines of its log (oldest first). */
  tail(name: string, n: number): Promise<LogLine[]>
  /** Live lines; returns the unsubscribe function. */
  follow(name: string, onLine: (line: LogLine) => void): () => void
  /**
   * For the web service's routing: when `resource` (no query) belongs to a managed bundle that is not serving
   * (stopped, backoff, broken, installed, stopping), why, so that the request is answered 503 at once.
   */
  unavailable(resource: string): { name: string; state: ManagedState; nextRetryAt: string | null } | undefined
  /** State changes, for the push channel. Returns the unsubscribe function. */
  onEvent(listener: (event: ManagerEvent) => void): () => void
}
