import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  MAX_PAYLOAD_BYTES,
  PARSE_CEILING_BYTES,
  type ParseResult,
  parsePayload,
} from '../../src/protocol/index.ts'
import { captureFiles, readCapture } from '../helpers/captures.ts'

/** The two shapes a payload arrives in: a string, and raw bytes from the middle of a larger buffer. */
function both(text: string): Array<readonly [string, ParseResult]> {
  const padded = Buffer.from(`xx${text}yy`, 'utf8')
  const bytes = new Uint8Array(padded.buffer, padded.byteOffset + 2, padded.byteLength - 4)
  return [
    ['string', parsePayload(text)],
    ['bytes', parsePayload(bytes)],
  ]
}

/** A JSON object payload of exactly `size` bytes. */
function objectOfSize(size: number): string {
  const head = '{"data":"'
  const tail = '"}'
  return head + 'x'.repeat(size - head.length - tail.length) + tail
}

test('[WP-2] an empty payload is not a message', () => {
  assert.deepEqual(parsePayload(''), { ok: false, reason: 'empty' })
  assert.deepEqual(parsePayload(new Uint8Array(0)), { ok: false, reason: 'empty' })
  assert.deepEqual(parsePayload(Buffer.alloc(0)), { ok: false, reason: 'empty' })
})

test('[WP-3] a non-JSON payload is dropped', () => {
  const payloads = [
    ' ',
    '\n',
    'hello',
    '{',
    '{"id": 1',
    "{'id': 1}",
    '{"id": 1,}',
    '{id: 1}',
    '{"a":1}{"b":2}',
    'NaN',
    'undefined',
  ]
  for (const text of payloads) {
    for (const [shape, result] of both(text)) {
      assert.deepEqual(result, { ok: false, reason: 'not-json' }, `${shape} ${JSON.stringify(text)}`)
    }
  }
  assert.deepEqual(parsePayload(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])), { ok: false, reason: 'not-json' })
})

test('[WP-3] a JSON payload that is not an object (array, number, string, null, boolean) is dropped', () => {
  const payloads = [
    '[]',
    '[{"id": 1, "method": "get", "resource": "/a"}]',
    '1',
    '0',
    '-2.5e3',
    '"text"',
    '""',
    'null',
    'true',
    'false',
    ' [ ] ',
  ]
  for (const text of payloads) {
    for (const [shape, result] of both(text)) {
      assert.deepEqual(result, { ok: false, reason: 'not-object' }, `${shape} ${JSON.stringify(text)}`)
    }
  }
})

test('[WP-3] a JSON object is a message, whatever keys it has', () => {
  const payloads: ReadonlyArray<readonly [string, unknown]> = [
    ['{}', {}],
    ['  {"id":1}\n', { id: 1 }],
    [
      '{"id":1048601,"method":"put","resource":"/network/ethernet/1","data":{"ip":"2.2.2.2"}}',
      {
        id: 1048601,
        method: 'put',
        resource: '/network/ethernet/1',
        data: { ip: '2.2.2.2' },
      },
    ],
    ['{"x":[1,{"y":null}],"é":"ü"}', { x: [1, { y: null }], é: 'ü' }],
  ]
  for (const [text, expected] of payloads) {
    for (const [shape, result] of both(text)) {
      assert.deepEqual(result, { ok: true, message: expected, oversize: false }, `${shape} ${text}`)
    }
  }
})

test('[WP-4] compact and pretty-printed encodings of the same object parse identically', () => {
  const message = {
    id: 627179,
    method: 'get',
    resource: '/thermo/5?x=1&flag',
    code: 200,
    sign: ['thermo'],
    data: { param: { id: '5' }, query: { x: '1', flag: true }, list: [], empty: {} },
  }
  const encodings = [
    JSON.stringify(message),
    JSON.stringify(message, null, 4),
    JSON.stringify(message, null, '\t'),
    JSON.stringify(message, null, 2).replaceAll('\n', '\r\n'),
  ]
  for (const text of encodings) {
    for (const [shape, result] of both(text)) {
      assert.deepEqual(result, { ok: true, message, oversize: false }, `${shape} ${JSON.stringify(text)}`)
    }
  }
})

test('[WP-4] every captured payload, compact or pretty-printed by the original controller, parses as recorded', () => {
  let pretty = 0
  for (const file of captureFiles()) {
    for (const { topic, payload, message } of readCapture(file)) {
      const where = `${file} ${topic}`
      if (payload.includes('\n')) pretty++
      for (const text of [payload, JSON.stringify(message), JSON.stringify(message, null, 4)]) {
        for (const [shape, result] of both(text)) {
          assert.deepEqual(result, { ok: true, message, oversize: false }, `${where} (${shape})`)
        }
      }
    }
  }
  assert.ok(pretty >= 20, `only ${pretty} pretty-printed payloads in the captures`)
})

test('[WP-4] a request and its pretty-printed forward by the original controller are the same object', () => {
  let pairs = 0
  for (const file of captureFiles()) {
    const records = readCapture(file)
    for (const [i, sent] of records.entries()) {
      const msg = sent.message as Record<string, unknown>
      if (sent.topic !== '/controller' || sent.payload.includes('\n') || 'code' in msg) continue
      // The forward: the next pretty-printed request (no code) with the same id, on another topic.
      const forwarded = records.slice(i + 1).find((r) => {
        const m = r.message as Record<string, unknown>
        return r.topic !== '/controller' && m.id === msg.id && !('code' in m)
      })
      if (forwarded === undefined) continue
      assert.ok(forwarded.payload.includes('\n'), `${file} id ${String(msg.id)}`)
      const a = parsePayload(sent.payload)
      const b = parsePayload(Buffer.from(forwarded.payload))
      assert.ok(a.ok && b.ok)
      assert.deepEqual(a.message, b.message, `${file} ${sent.topic} → ${forwarded.topic}`)
      pairs++
    }
  }
  assert.ok(pairs >= 10, `only ${pairs} request/forward pairs`)
})

test('§2.3 / §8.9: exactly 1048576 bytes is not oversize, 1048577 bytes is', () => {
  assert.equal(MAX_PAYLOAD_BYTES, 1_048_576)
  const exact = objectOfSize(MAX_PAYLOAD_BYTES)
  const over = objectOfSize(MAX_PAYLOAD_BYTES + 1)
  assert.equal(Buffer.byteLength(exact), 1_048_576)
  assert.equal(Buffer.byteLength(over), 1_048_577)
  for (const [shape, result] of both(exact)) {
    assert.ok(result.ok, shape)
    assert.equal(result.oversize, false, shape)
  }
  for (const [shape, result] of both(over)) {
    assert.ok(result.ok, shape)
    assert.equal(result.oversize, true, shape)
    assert.equal((result.message.data as string).length, 1_048_577 - 11, shape)
  }
})

test('§8.9: the size limit counts UTF-8 bytes, not characters', () => {
  // 'é' is two bytes: 524283 of them make 1048566 bytes, plus 11 bytes of JSON = 1048577 bytes.
  const text = `{"data":"${'é'.repeat(524_283)}"}`
  assert.ok(text.length < MAX_PAYLOAD_BYTES)
  assert.equal(Buffer.byteLength(text), MAX_PAYLOAD_BYTES + 1)
  for (const [shape, result] of both(text)) {
    assert.ok(result.ok, shape)
    assert.equal(result.oversize, true, shape)
  }
})

test('[WP-59] oversize payloads are still parsed up to the ceiling (for the 413), and refused beyond it', () => {
  assert.ok(PARSE_CEILING_BYTES > MAX_PAYLOAD_BYTES)
  const atCeiling = parsePayload(objectOfSize(PARSE_CEILING_BYTES))
  assert.ok(atCeiling.ok)
  assert.equal(atCeiling.oversize, true)
  assert.deepEqual(parsePayload(objectOfSize(PARSE_CEILING_BYTES + 1)), { ok: false, reason: 'too-large' })
  assert.deepEqual(parsePayload(Buffer.alloc(PARSE_CEILING_BYTES + 1, 0x20)), {
    ok: false,
    reason: 'too-large',
  })
})
