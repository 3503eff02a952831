/**
 * Child processes of the gateway: spawned so that they die with it (also on kill -9), stopped gracefully.
 * @module
 */

export { bundlegateResolveArgs } from './resolve-hook-args.ts'
export {
  DEFAULT_KILL_AFTER_MS,
  deathSignalLauncher,
  isRunning,
  LIFELINE_FD,
  PARENT_FD_ENV,
  SETPRIV_ENV,
  type SpawnChildOptions,
  spawnChild,
  stopChild,
} from './spawn-child.ts'
