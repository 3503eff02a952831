/**
 * Preloaded (`--import`) into the gateway and the bundle of `npm run soak`: answers the soak script's memory
 * questions over the IPC channel. Each answer follows a full garbage collection (the processes run with
 * `--expose-gc`), so `heapUsed` is the live heap, the number a leak moves. Does nothing without an IPC channel.
 * @module
 */

interface MemoryQuestion {
  type: 'soak:memory'
  id: number
}

if (typeof process.send === 'function') {
  process.on('message', (message: unknown) => {
    const m = message as MemoryQuestion
    if (m?.type !== 'soak:memory') return
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const u = process.memoryUsage()
    process.send?.({
      type: 'soak:memory',
      id: m.id,
      gc: gc !== undefined,
      rss: u.rss,
      heapUsed: u.heapUsed,
      heapTotal: u.heapTotal,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
    })
  })
  // the channel must not keep the process alive on its own: it stops on SIGTERM as it would without us
  process.channel?.unref()
}
