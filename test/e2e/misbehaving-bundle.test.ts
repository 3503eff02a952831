import assert from 'node:assert/strict'
import { test } from 'node:test'
import mqtt from 'mqtt'
import type { Envelope } from '../../src/protocol/index.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'

/**
 * A raw MQTT bundle that misbehaves on purpose: it answers late, twice, or with a wrong id. No cross-talk between
 * requests, late and duplicate answers dropped and counted, nobody waits past the ttl.
 */
test('[WP-7] [WP-35] late, duplicate and wrong-id answers: no cross-talk, dropped and counted', async (t) => {
  const defer = lifo(t)
  const gw = await startTestGateway()
  defer(() => gw.close())
  const core = gw.controller.core
  const bad = await mqtt.connectAsync(gw.brokerUrl, { clean: true, reconnectPeriod: 0 })
  defer(() => bad.endAsync())
  await bad.subscribeAsync('bad-reply', { qos: 0 })
  const registered = new Promise<string>((resolve) =>
    bad.once('message', (_t, p) =>
      resolve((JSON.parse(p.toString()) as { data: { tunnel: string } }).data.tunnel),
    ),
  )
  await bad.publishAsync(
    '/controller',
    JSON.stringify({
      id: 11,
      method: 'post',
      resource: '/controller/registration',
      tunnel: 'bad-reply',
      data: { name: 'bad', description: 'misbehaves', role: 'model', ttl: 1, resources: ['/bad/+'] },
    }),
  )
  const tunnel = await registered
  await bad.subscribeAsync(tunnel, { qos: 0 })
  const answer = (req: Envelope, data: unknown, id = req.id) =>
    bad.publish('/controller', JSON.stringify({ ...req, id, code: 200, data, sign: ['bad'] }), { qos: 1 })
  const held: Envelope[] = []
  bad.on('message', (topic, payload) => {
    if (topic !== tunnel) return
    const req = JSON.parse(payload.toString()) as Envelope
    const what = String(req.resource).split('/')[2]
    if (what === 'twice') {
      answer(req, { n: 1 })
      answer(req, { n: 2 })
    } else if (what === 'late')
      held.push(req) // answered after the ttl, below
    else if (what === 'wrong')
      answer(req, { stolen: true }, 4242) // an id nobody asked
    else answer(req, { ok: what })
  })

  const before = core.stats().lateResponses
  const [twice, late, wrong, ok] = await Promise.all([
    core.request({ method: 'get', resource: '/bad/twice' }),
    core.request({ method: 'get', resource: '/bad/late' }),
    core.request({ method: 'get', resource: '/bad/wrong' }),
    core.request({ method: 'get', resource: '/bad/fine' }),
  ])
  assert.deepEqual(twice.message.data, { n: 1 }, 'the first answer wins')
  assert.equal(late.kind, 'timeout', 'nobody waits past the ttl')
  assert.equal(late.ttlMs, 1000)
  assert.equal(wrong.kind, 'timeout', 'an answer with a wrong id does not answer this request')
  assert.deepEqual(ok.message.data, { ok: 'fine' }, 'no cross-talk')
  for (const req of held) answer(req, { tooLate: true })
  await waitFor(() => core.stats().lateResponses - before >= 3, 3000, 'the dropped answers to be counted')
  t.diagnostic(`dropped and counted: ${core.stats().lateResponses - before} (duplicate, wrong id, late)`)
  assert.equal(core.stats().sessions, 0)
})
