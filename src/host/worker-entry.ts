/**
 * The first code of every bundle's worker thread in the shared host, as source text (run with `eval: true`, so
 * that it needs no file of its own and runs the same from the sources and from `dist/`). It answers the host's
 * pings (an endless loop leaves them unanswered), turns the host's stop into the SIGTERM the SDK listens for, then
 * imports the bundle's own entry point. Operating-system signals only reach the main thread; `process.exit()` in a
 * worker ends that worker only. Message shapes: host-messages.ts.
 * @module
 */

export const WORKER_ENTRY_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
parentPort.on('message', (m) => {
  if (m === null || typeof m !== 'object') return
  if (m.type === 'bundlegate:ping') parentPort.postMessage({ type: 'bundlegate:pong', n: m.n })
  else if (m.type === 'bundlegate:stop') {
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM')
    else process.exit(0)
  }
})
parentPort.unref()
import(workerData.main).catch((err) => {
  process.nextTick(() => {
    throw err
  })
})
`
