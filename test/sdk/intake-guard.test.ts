/**
 * The SDK side of the JSON depth budget (wire-protocol.md §8.9): a handler result that does not serialise (a cycle,
 * or a value nested past the stack) is answered 500 instead of throwing out of the answer path (which left
 * the caller waiting for the ttl), and `BUNDLE_JSON_DEPTH` sets the bundle's budget.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Json } from '../../src/index.ts'
import { jsonDepthFromEnv } from '../../src/sdk/env.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { lifo, logSink, startTestGateway } from '../helpers/gateway.ts'

test('a handler result that does not serialise answers 500 Internal Error. at once; the bundle keeps answering', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const sink = logSink('error')
  const bundle = createBundle({
    manifest: {
      name: 'cyclic',
      version: '1',
      description: 'answers what cannot be sent',
      role: 'model',
      ttl: 3,
      resources: [{ resource: '/cyclic/+', methods: ['get'] }],
    },
    brokerUrl: gw.brokerUrl,
    logger: sink.logger,
    signals: false,
  })
  bundle.get('/cyclic/loop', () => {
    const o: Record<string, unknown> = {}
    o.self = o
    return o as unknown as Json
  })
  bundle.get('/cyclic/deep', () => {
    let v: unknown = []
    for (let i = 0; i < 100_000; i++) v = [v]
    return v as Json
  })
  bundle.get('/cyclic/fine', () => ({ ok: true }))
  await bundle.start()
  defer(() => bundle.stop())
  const core = gw.controller.core
  for (const what of ['loop', 'deep']) {
    const o = await core.request({ method: 'get', resource: `/cyclic/${what}` })
    assert.equal(o.message.code, 500, what)
    assert.deepEqual(o.message.data, { message: 'Internal Error.' })
  }
  assert.ok(sink.lines.some((l) => l.msg === 'answer cannot be serialised'))
  assert.equal((await core.request({ method: 'get', resource: '/cyclic/fine' })).message.code, 200)
})

test('BUNDLE_JSON_DEPTH: an integer from 2 to 512, else the protocol default', () => {
  assert.equal(jsonDepthFromEnv({ BUNDLE_JSON_DEPTH: '10' }), 10)
  assert.equal(jsonDepthFromEnv({ BUNDLE_JSON_DEPTH: '512' }), 512)
  for (const bad of ['', '1', '513', '1.5', 'x', '-3'])
    assert.equal(jsonDepthFromEnv({ BUNDLE_JSON_DEPTH: bad }), undefined)
  assert.equal(jsonDepthFromEnv({}), undefined)
})
