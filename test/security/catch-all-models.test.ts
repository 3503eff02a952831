/**
 * Red team, issue 12 part 2: catch-all models. A bundle that registers `#`, `/#`, `/+` or `/controller/#` as a model
 * received every request with its body and `caller`, merged its fields into other bundles' answers, answered other
 * bundles' registration calls (handing them a fake tunnel), and made every resource 503 when it went offline; and
 * resources such as `example2`, `/a\u0000b` or `/api/v1/x` were accepted. Every pattern rule of wire-protocol.md §8.2a
 * [WP-62] is checked on the wire, with broker authentication on and off, and sanji-compat keeps what it should.
 * Raw MQTT clients stand for the bundles (the victim answers as the Python SDK does, echoing `caller`).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { dataOf, RawBundle, type TestGateway } from '../helpers/raw-bundle.ts'

const TIMEOUT = { timeout: 60_000 }

/** Every forbidden model pattern of §8.2a, with the words its 400 log must carry. */
const FORBIDDEN: Array<[string, RegExp]> = [
  ['#', /must start with '\/'/],
  ['/#', /wildcard in its first level/],
  ['+', /must start with '\/'/],
  ['/+', /wildcard in its first level/],
  ['/+/x', /wildcard in its first level/],
  ['/+/#', /wildcard in its first level/],
  ['/v#', /wildcard in its first level/],
  ['/controller/#', /under '\/controller'/],
  ['/controller', /under '\/controller'/],
  ['/controller/registration/+', /under '\/controller'/],
  ['example2', /must start with '\/'/],
  ['/a\u0000b', /control character/],
  ['/api/v1/x', /under '\/api'/],
  [`/${'x'.repeat(1100)}`, /exceeds 1023 characters/],
]

async function http(gw: TestGateway, method: 'GET' | 'PUT', url: string, payload?: unknown) {
  const res = await gw.http.inject({
    method,
    url,
    headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/json' },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  })
  return { status: res.statusCode, body: res.json() as Record<string, unknown> }
}

for (const auth of ['off', 'on'] as const) {
  describe(`catch-all models are refused, broker auth ${auth} [WP-62]`, () => {
    const cleanup = lifo({ after })
    let gw: TestGateway
    let victim: RawBundle

    before(async () => {
      gw = await startTestGateway({ broker: { auth } })
      cleanup(() => gw.close())
      victim = await RawBundle.connect(gw, 'victim')
      cleanup(() => victim.close())
      const reply = await victim.register('victim', 'model', ['/victim', '/victim/+'])
      assert.equal(reply.code, 200)
      victim.serve(String(dataOf(reply).tunnel), 'victim', { owner: 'victim' })
    })

    test(
      'every forbidden pattern is answered 400 naming the rule, on the reply tunnel, and registers nothing',
      TIMEOUT,
      async () => {
        const attempts = await Promise.all(
          FORBIDDEN.map(async ([pattern, rule], i) => {
            const attacker = await RawBundle.connect(gw, `atk${i}`)
            try {
              return { pattern, rule, reply: await attacker.register(`atk${i}`, 'model', [pattern]) }
            } finally {
              await attacker.close()
            }
          }),
        )
        for (const { pattern, rule, reply } of attempts) {
          assert.equal(reply.code, 400, `${JSON.stringify(pattern)} is refused`)
          assert.equal(dataOf(reply).message, 'wrong register context')
          assert.match(String(dataOf(reply).log), rule, JSON.stringify(pattern))
          assert.deepEqual(reply.sign, ['controller'])
        }
        const names = gw.controller.core.components().map((c) => c.name)
        assert.deepEqual(
          names.filter((n) => n.startsWith('atk')),
          [],
        )
      },
    )

    test(
      'the found attacks no longer work: no requests, no merge, no registration answers, no 503 everywhere',
      TIMEOUT,
      async () => {
        const attacker = await RawBundle.connect(gw, 'attacker')
        const model = await attacker.register('attacker', 'model', ['/#'])
        assert.equal(model.code, 400, 'a catch-all model is refused')
        // What a view may still do (§8.2a): observe `/#`. It receives final answers and events, never a request.
        const view = await attacker.register('attacker-view', 'view', ['/#'])
        assert.equal(view.code, 200)
        const viewTunnel = String(dataOf(view).tunnel)

        const secret = `s3cr3t-${randomBytes(4).toString('hex')}`
        const get = await http(gw, 'GET', '/api/v1/victim')
        assert.equal(get.status, 200)
        assert.deepEqual(get.body, { owner: 'victim' }, 'nothing merged into the answer')
        const put = await http(gw, 'PUT', '/api/v1/victim/1', { password: secret })
        assert.equal(put.status, 200)
        assert.deepEqual(put.body, { owner: 'victim' })

        // a newcomer's registration is answered by the controller alone, with a real tunnel
        const newcomer = await RawBundle.connect(gw, 'newcomer')
        const reg = await newcomer.register('newcomer', 'model', ['/newcomer'])
        assert.equal(reg.code, 200)
        assert.deepEqual(reg.sign, ['controller'])
        assert.equal(
          gw.controller.core.components().find((c) => c.name === 'newcomer')?.tunnel,
          dataOf(reg).tunnel,
        )
        await new Promise((r) => setTimeout(r, 200)) // a forged second answer would be here by now
        assert.equal(newcomer.on(newcomer.replyTunnel).length, 1, 'one registration answer, no forged one')
        await newcomer.close()

        await waitFor(() => attacker.on(viewTunnel).length >= 2, 5000, 'the view to see the final answers')
        for (const m of attacker.on(viewTunnel)) {
          assert.equal(typeof m.code, 'number', `a view gets answers, never a request: ${JSON.stringify(m)}`)
          assert.ok(m.tunnel === undefined, 'never a reply tunnel')
        }
        const seen = JSON.stringify(attacker.on(viewTunnel))
        assert.ok(!seen.includes(secret), "the view never sees another bundle's request body")
        assert.ok(!seen.includes(gw.rootToken), "nor a caller's token secret")

        // the attacker goes away: other bundles' resources still answer
        await attacker.close()
        await waitFor(
          () => gw.controller.core.components().find((c) => c.name === 'attacker-view')?.online === false,
          5000,
          'the view to be offline',
        )
        assert.equal((await http(gw, 'GET', '/api/v1/victim')).status, 200)
        const late = await RawBundle.connect(gw, 'late')
        assert.equal((await late.register('late', 'model', ['/late'])).code, 200)
        await late.close()
      },
    )
  })
}

describe('sanji-compat keeps the harmless part of the original [WP-40][WP-62]', () => {
  const cleanup = lifo({ after })
  let gw: TestGateway

  before(async () => {
    gw = await startTestGateway({ mode: 'sanji-compat' })
    cleanup(() => gw.close())
  })

  test(
    'shared model patterns fan out and merge, a view on /# (the original web layer) registers; catch-all models and /controller… do not',
    TIMEOUT,
    async () => {
      const a = await RawBundle.connect(gw, 'a')
      const b = await RawBundle.connect(gw, 'b')
      cleanup(() => a.close())
      cleanup(() => b.close())
      const ra = await a.register('a', 'model', ['/shared'])
      const rb = await b.register('b', 'model', ['/shared'])
      assert.equal(ra.code, 200)
      assert.equal(rb.code, 200)
      a.serve(String(dataOf(ra).tunnel), 'a', { a: 1 })
      b.serve(String(dataOf(rb).tunnel), 'b', { b: 2 })
      const merged = await http(gw, 'GET', '/api/v1/shared')
      assert.equal(merged.status, 200)
      assert.deepEqual(merged.body, { a: 1, b: 2 })
      assert.equal((await a.register('SANJI-REST-vm', 'view', ['/#'])).code, 200)
      for (const [i, pattern] of ['/#', '#', '/+', '/controller/#', '/api/v1/x'].entries()) {
        const reply = await b.register(`b${i}`, 'model', [pattern])
        assert.equal(reply.code, 400, `${pattern} is refused in sanji-compat too`)
      }
    },
  )
})
