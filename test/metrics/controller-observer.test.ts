import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GatewayMetrics } from '../../src/metrics/index.ts'
import { Harness } from '../helpers/controller-harness.ts'
import { parsePrometheusText, sampleValue } from '../helpers/prom-text.ts'

test('[WP-52][WP-34] the controller observer: queue wait on the controller clock, ttl expiries by the late bundle', async () => {
  const metrics = new GatewayMetrics({ processMetrics: false })
  const h = new Harness({ observer: metrics.observer })
  metrics.bindController(h.core)
  try {
    h.register('store', { resources: ['/store/+'], ttl: 5 })
    h.send({ id: 1, method: 'put', resource: '/store/1', tunnel: 'w' })
    const put = h.one(h.tunnel('store'))
    h.send({ id: 2, method: 'get', resource: '/store/1', tunnel: 'r' }) // meets the write lock: queued
    let f = parsePrometheusText(await metrics.render())
    assert.equal(sampleValue(f, 'bundlegate_controller_queue_depth'), 1)
    assert.equal(sampleValue(f, 'bundlegate_controller_sessions_in_flight'), 1)
    h.clock.advance(300)
    h.answer(put, 200, {}, 'store') // the lock goes: the GET leaves the queue after 300 ms
    assert.equal(h.one('w').code, 200)
    h.clock.advance(5000) // nobody answers the GET: ttl
    assert.equal(h.one('r').code, 408)
    f = parsePrometheusText(await metrics.render())
    assert.equal(sampleValue(f, 'bundlegate_controller_queue_depth'), 0)
    assert.equal(sampleValue(f, 'bundlegate_controller_queue_wait_seconds_count'), 1)
    assert.equal(sampleValue(f, 'bundlegate_controller_queue_wait_seconds_bucket', { le: '0.1' }), 0)
    assert.equal(sampleValue(f, 'bundlegate_controller_queue_wait_seconds_bucket', { le: '0.5' }), 1)
    assert.equal(sampleValue(f, 'bundlegate_controller_ttl_expiries_total', { bundle: 'store' }), 1)
    assert.equal(sampleValue(f, 'bundlegate_controller_late_responses_total'), 0)
    h.answer({ id: 2, method: 'get', resource: '/store/1' }, 200, {}, 'store') // too late
    f = parsePrometheusText(await metrics.render())
    assert.equal(sampleValue(f, 'bundlegate_controller_late_responses_total'), 1)
    assert.equal(sampleValue(f, 'bundlegate_bundles', { state: 'online' }), 1)
  } finally {
    metrics.close()
    h.core.close()
  }
})
