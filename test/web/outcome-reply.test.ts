import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Outcome } from '../../src/controller/index.ts'
import { controllerMessage } from '../../src/protocol/index.ts'
import { outcomeReply } from '../../src/web/outcome-reply.ts'

/** A wire message that says something else than the typed failure: the HTTP answer must follow the typed fields. */
const misleading = controllerMessage({
  id: 1,
  code: 400,
  method: 'get',
  resource: '/x',
  data: { message: 'wire text', log: 'what the wire says' },
})

test('issue 13: the HTTP error is rendered from the typed failure, never from the wire text (§8.5)', () => {
  const cases: [Outcome, number, string, RegExp][] = [
    [
      { kind: 'bad-request', reason: 'the typed reason', message: misleading },
      400,
      'GW_ERR_BAD_REQUEST',
      /^the typed reason$/,
    ],
    [
      { kind: 'timeout', bundle: 'b', ttlMs: 1500, message: misleading },
      504,
      'GW_ERR_BUNDLE_TIMEOUT',
      /'b'.*1500 ms/,
    ],
    [{ kind: 'offline', bundle: 'c', message: misleading }, 503, 'GW_ERR_BUNDLE_OFFLINE', /'c' is offline/],
    [
      { kind: 'too-deep', depth: 70, limit: 64, message: misleading },
      400,
      'GW_ERR_JSON_TOO_DEEP',
      /70 levels.*64/,
    ],
    [
      { kind: 'unavailable', cause: 'busy', limit: 3, message: misleading },
      503,
      'GW_ERR_UNAVAILABLE',
      /too many requests in flight \(at most 3\)/,
    ],
    [
      { kind: 'unavailable', cause: 'stopping', message: misleading },
      503,
      'GW_ERR_UNAVAILABLE',
      /the gateway is stopping/,
    ],
    [{ kind: 'not-found', message: misleading }, 404, 'GW_ERR_ROUTE_NOT_FOUND', /'\/x'/],
  ]
  for (const [outcome, status, code, text] of cases) {
    const r = outcomeReply(outcome, '/x?q=1', false)
    assert.equal(r.status, status, outcome.kind)
    const body = r.body as { code: string; message: string }
    assert.equal(body.code, code, outcome.kind)
    assert.match(body.message, text, outcome.kind)
  }
  const answer = outcomeReply(
    { kind: 'answer', code: 207, data: { typed: true }, sign: ['m'], message: misleading },
    '/x',
    false,
  )
  assert.deepEqual(answer, { status: 207, body: { typed: true } })
})
