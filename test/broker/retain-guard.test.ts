import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isControlTopic } from '../../src/broker/index.ts'

test('[WP-64] isControlTopic: /controller…, /<localId>/controller and tunnel-shaped topics; nothing else', () => {
  for (const topic of [
    '/controller',
    '/controller/presence',
    '/controller/presence/x',
    '123456',
    'ab'.repeat(16),
  ])
    assert.equal(isControlTopic(topic), true, topic)
  assert.equal(isControlTopic('/gw1/controller', 'gw1'), true)
  for (const topic of ['sensors/x', '/gw1/controller', '/controllers', 'x123', 'AB'.repeat(16)])
    assert.equal(isControlTopic(topic), false, topic)
})
