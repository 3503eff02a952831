import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Envelope } from '../../src/protocol/index.ts'
import { backoffMs } from '../../src/sdk/backoff.ts'
import { Publisher } from '../../src/sdk/publisher.ts'

function fakeTransport() {
  const sent: Envelope[] = []
  return {
    sent,
    transport: {
      replyTunnel: 'reply-1',
      send: async (p: string) => void sent.push(JSON.parse(p) as Envelope),
    },
  }
}

describe('Publisher', () => {
  test('requests are direct, with ids in [2^20, 2^31-1], and resolve with the answer whatever its code [WP-58]', async () => {
    const { sent, transport } = fakeTransport()
    const pub = new Publisher(transport)
    const p = pub.publish.put('/x', { a: 1 })
    await Promise.resolve()
    const req = sent[0] as Envelope
    assert.deepEqual(
      { ...req, id: 0 },
      { id: 0, method: 'put', resource: '/x', tunnel: 'reply-1', data: { a: 1 } },
    )
    assert.ok((req.id as number) >= 1_048_576 && (req.id as number) <= 2_147_483_647)
    assert.equal(
      pub.resolve({
        id: req.id as number,
        code: 500,
        method: 'put',
        resource: '/x',
        sign: ['x'],
        data: { m: 1 },
      }),
      true,
    )
    const answer = await p
    assert.equal(answer.code, 500)
    assert.deepEqual(answer.sign, ['x'])
    assert.equal(
      pub.resolve({ id: req.id as number, code: 200, method: 'put', resource: '/x', sign: ['x'] }),
      false,
      'once only',
    )
  })

  test("[WP-58] a 403 'id' was used signed controller is resent once with a fresh id (§8.8)", async () => {
    const { sent, transport } = fakeTransport()
    const pub = new Publisher(transport)
    const p = pub.publish.get('/x')
    await Promise.resolve()
    const used = {
      code: 403,
      method: 'GET',
      resource: '/x',
      sign: ['controller'],
      data: { message: "'id' was used, please use another 'id'" },
    }
    pub.resolve({ ...used, id: sent[0]?.id as number })
    await Promise.resolve()
    assert.equal(sent.length, 2)
    assert.notEqual(sent[1]?.id, sent[0]?.id)
    pub.resolve({ ...used, id: sent[1]?.id as number })
    assert.equal((await p).code, 403, 'only once: the second 403 is the answer')
  })

  test('events carry code and data and no id or tunnel (§6 item 10)', async () => {
    const { sent, transport } = fakeTransport()
    const pub = new Publisher(transport)
    await pub.publish.event.post('/e')
    await pub.publish.event.put('/e', { v: 1 }, 201)
    assert.deepEqual(sent, [
      { resource: '/e', method: 'post', code: 200, data: null },
      { resource: '/e', method: 'put', code: 201, data: { v: 1 } },
    ])
  })

  test('a timeout rejects with GW_ERR_REQUEST_TIMEOUT; rejectAll fails every pending request', async () => {
    const { transport } = fakeTransport()
    const pub = new Publisher(transport)
    // the publisher's timers are unref'd (a pending request never keeps a process alive): hold the loop open
    const hold = setTimeout(() => {}, 1000)
    await assert.rejects(pub.publish.get('/slow', undefined, { timeoutMs: 20 }), {
      code: 'GW_ERR_REQUEST_TIMEOUT',
      message: 'no answer to GET /slow within 20 ms',
    })
    const p = pub.publish.get('/x')
    pub.rejectAll(new Error('stopping'))
    await assert.rejects(p, /stopping/)
    assert.equal(pub.pending, 0)
    clearTimeout(hold)
  })
})

test('registration backoff: 1 s doubling to 30 s, within ±20 % (§8.4)', () => {
  assert.equal(
    backoffMs(0, () => 0.5),
    1000,
  )
  assert.equal(
    backoffMs(3, () => 0.5),
    8000,
  )
  assert.equal(
    backoffMs(10, () => 0.5),
    30_000,
  )
  assert.equal(
    backoffMs(0, () => 0),
    800,
  )
  assert.equal(
    backoffMs(0, () => 1),
    1200,
  )
})
