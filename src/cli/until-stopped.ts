/**
 * Resolves at the first SIGINT or SIGTERM (or when `signal` aborts, for in-process tests), and removes its
 * listeners: how `start` and `host` wait for the end of their run.
 * @module
 */
export function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
    signal?.addEventListener('abort', done, { once: true })
  })
}
