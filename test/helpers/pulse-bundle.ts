/**
 * A bundle for the push-channel end-to-end tests, run as its own process:
 *
 *   BROKER_URL=mqtt://127.0.0.1:<port> node --conditions=bundlegate-dev --import tsx test/helpers/pulse-bundle.ts
 *
 * `PUT /pulse {count, gapMs}` answers at once, then publishes `count` EVENTs with `this.publish.event.put` on
 * `/pulse/<n>`, `gapMs` apart, each with data `{n, sentAt}` where `sentAt` is the wall clock in ms (sub-ms
 * precision) taken right before the publish: a receiver on the same machine measures the delivery latency.
 * It prints `pulse-bundle registered` on stdout once registered. A program, not a module.
 * @module
 */

import { createBundle } from '../../src/index.ts'

const bundle = createBundle({
  manifest: {
    name: 'pulse',
    version: '1.0.0',
    description: 'publishes timed events',
    role: 'model',
    ttl: 10,
    resources: [{ resource: '/pulse', methods: ['put'] }],
  },
})
bundle.put('/pulse', (message) => {
  const { count = 1, gapMs = 10 } = (message.data ?? {}) as { count?: number; gapMs?: number }
  let n = 0
  const next = () => {
    const sentAt = performance.timeOrigin + performance.now()
    void bundle.publish.event.put(`/pulse/${n}`, { n, sentAt })
    if (++n < count) setTimeout(next, gapMs)
  }
  setTimeout(next, gapMs)
  return { count, gapMs }
})
await bundle.start()
process.stdout.write('pulse-bundle registered\n')
