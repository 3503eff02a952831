/**
 * Red-team pass of issue 12 (after the pattern rules): what else one registration could carry. Each case failed on
 * the first merge of the hostile-input work: a 1 MB description amplified into openapi.json took the gateway's
 * heap; a hook on the built-in `registration` put a model in the middle of every later registration; a hook on
 * another user's bundle controlled its answers; 40,000 hook names blocked the event loop; a ttl past 2^31 ms
 * expired every request at once (wire-protocol.md §8.9).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { MAX_DESCRIPTION_CHARS, MAX_HOOKS, MAX_TTL_SEC } from '../../src/controller/registration-shape.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { dataOf, RawBundle, type TestGateway } from '../helpers/raw-bundle.ts'

const T = { timeout: 60_000 }
const base = { role: 'model', ttl: 5 }

for (const auth of ['off', 'on'] as const) {
  describe(`registration shape, broker auth ${auth}`, () => {
    const cleanup = lifo({ after })
    let gw: TestGateway
    before(async () => {
      gw = await startTestGateway({ broker: { auth } })
      cleanup(() => gw.close())
    })

    test('[WP-15] a hook on the built-in registration is refused with 400 naming the rule', T, async () => {
      const atk = await RawBundle.connect(gw, 'hookreg')
      cleanup(() => atk.close())
      const r = await atk.call('post', '/controller/registration/hookreg', {
        ...base,
        description: 'x',
        resources: ['/hookreg'],
        hook: ['registration'],
      })
      assert.equal(r.code, 400, JSON.stringify(r))
      assert.match(JSON.stringify(dataOf(r)), /built-in 'registration' is not allowed/)
    })

    test('a description over the limit, or more hooks than the limit, is refused with 400', T, async () => {
      const b = await RawBundle.connect(gw, 'bigdesc')
      cleanup(() => b.close())
      const long = await b.call('post', '/controller/registration/bigdesc', {
        ...base,
        description: 'd'.repeat(MAX_DESCRIPTION_CHARS + 1),
        resources: ['/bigdesc'],
      })
      assert.equal(long.code, 400)
      assert.match(JSON.stringify(dataOf(long)), /'description' is \d+ characters, over the limit/)
      const hooks = await b.call('post', '/controller/registration/bigdesc', {
        ...base,
        description: 'x',
        resources: ['/bigdesc'],
        hook: Array.from({ length: MAX_HOOKS + 1 }, (_, i) => `h${i}`),
      })
      assert.equal(hooks.code, 400)
      assert.match(JSON.stringify(dataOf(hooks)), /hooks, over the limit/)
      const ok = await b.call('post', '/controller/registration/bigdesc', {
        ...base,
        description: 'd'.repeat(MAX_DESCRIPTION_CHARS),
        resources: ['/bigdesc'],
      })
      assert.equal(ok.code, 200, 'a description at the limit is fine')
      const doc = await gw.http.inject({
        url: '/api/v1/openapi.json',
        headers: { 'mx-api-token': gw.rootToken },
      })
      const text = doc.body
      const copies = text.split('d'.repeat(MAX_DESCRIPTION_CHARS)).length - 1
      assert.equal(copies, 1, 'the description appears once in openapi.json (its tag), not per operation')
      await b.call('delete', '/controller/registration/bigdesc')
    })

    test(
      `a ttl past ${MAX_TTL_SEC} s is used as ${MAX_TTL_SEC} s: no timer overflow, no 504 at once`,
      T,
      async () => {
        const b = await RawBundle.connect(gw, 'longttl')
        cleanup(() => b.close())
        const r = await b.call('post', '/controller/registration/longttl', {
          ...base,
          description: 'x',
          ttl: 3_000_000,
          resources: ['/longttl'],
        })
        assert.equal(r.code, 200)
        const listed = gw.controller.core.components().find((c) => c.name === 'longttl')
        assert.equal(listed?.ttlSec, MAX_TTL_SEC)
        await b.call('delete', '/controller/registration/longttl')
      },
    )
  })
}

describe("hooks on another user's bundle, broker auth on", () => {
  const cleanup = lifo({ after })
  let gw: TestGateway
  before(async () => {
    gw = await startTestGateway({ broker: { auth: 'on' } })
    cleanup(() => gw.close())
  })

  test('a model may not hook a component registered by another user', T, async () => {
    const victim = await RawBundle.connect(gw, 'hvictim')
    cleanup(() => victim.close())
    const v = await victim.call('post', '/controller/registration/hvictim', {
      ...base,
      description: 'x',
      resources: ['/hvictim'],
    })
    assert.equal(v.code, 200)
    const atk = await RawBundle.connect(gw, 'hatk')
    cleanup(() => atk.close())
    const r = await atk.call('post', '/controller/registration/hatk', {
      ...base,
      description: 'x',
      resources: ['/hatk'],
      hook: ['hvictim'],
    })
    assert.equal(r.code, 400, JSON.stringify(r))
    assert.match(JSON.stringify(dataOf(r)), /a component of another user/)
  })
})
