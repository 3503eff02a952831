/**
 * What the shared bundle host and one bundle's worker thread say to each other over the worker's port (the worker
 * side is worker-entry.ts).
 * @module
 */

/** Host → worker: `ping` (answer with a `pong` of the same `n`) or `stop` (as SIGTERM would). */
export type HostToWorker = { type: 'bundlegate:ping'; n: number } | { type: 'bundlegate:stop' }

/** Worker → host. */
export type WorkerToHost = { type: 'bundlegate:pong'; n: number }

/** What the host gives the worker entry. */
export interface WorkerData {
  /** File URL of the bundle's JavaScript entry point. */
  main: string
}

export function isPong(value: unknown): value is WorkerToHost {
  return (value as { type?: unknown } | null)?.type === 'bundlegate:pong'
}
