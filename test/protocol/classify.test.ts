import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  classifyController,
  classifySdk,
  directTunnel,
  type Envelope,
  isObject,
  type Json,
  messageId,
  type SdkMessageType,
} from '../../src/protocol/index.ts'
import { captureFiles, readCapture } from '../helpers/captures.ts'

const KEYS = ['id', 'code', 'method', 'resource', 'sign', 'tunnel'] as const
type Key = (typeof KEYS)[number]

/** The SDK rule table of §3.2, in its order. */
const SDK_TABLE: ReadonlyArray<readonly [SdkMessageType, readonly Key[], readonly Key[]]> = [
  ['RESPONSE', ['id', 'code', 'method', 'resource', 'sign'], ['tunnel']],
  ['REQUEST', ['id', 'method', 'resource'], ['code', 'sign', 'tunnel']],
  ['DIRECT', ['id', 'method', 'resource', 'tunnel'], ['code', 'sign']],
  ['EVENT', ['code', 'method', 'resource'], ['id', 'sign', 'tunnel']],
  ['HOOK', ['id', 'method', 'resource', 'sign'], ['code', 'tunnel']],
]

/** A typical value for each key. */
const VALUE: Record<Key, Json> = {
  id: 1048601,
  code: 200,
  method: 'get',
  resource: '/network/ethernet/1',
  sign: ['ethernet'],
  tunnel: '1793171122',
}

function build(keys: readonly Key[], extra: Envelope = {}): Envelope {
  const msg: Envelope = {}
  for (const k of keys) msg[k] = VALUE[k]
  return { ...msg, ...extra }
}

test('[WP-5][WP-6][WP-7] §3.2 SDK rule: one typical message per row', () => {
  const rows: ReadonlyArray<readonly [Envelope, SdkMessageType]> = [
    [
      { id: 627179, method: 'get', resource: '/thermo/5?x=1&flag', code: 200, sign: ['thermo'], data: {} },
      'RESPONSE',
    ],
    [{ id: 1048601, method: 'put', resource: '/network/ethernet/1', data: { ip: '2.2.2.2' } }, 'REQUEST'],
    [{ id: 627179, method: 'get', resource: '/thermo/5?x=1&flag', tunnel: '1793171122' }, 'DIRECT'],
    [{ method: 'put', resource: '/network/interfaces/wwan0', code: 200, data: { ip: '10.0.0.2' } }, 'EVENT'],
    [
      { id: 101, method: 'put', resource: '/network/ethernet/1', sign: ['ethernet', 'route'], data: {} },
      'HOOK',
    ],
  ]
  for (const [msg, expected] of rows) assert.equal(classifySdk(msg), expected, JSON.stringify(msg))
})

test('[WP-5][WP-6][WP-7] §3.2 SDK rule: every combination of the six keys follows the table, first fit wins', () => {
  const seen = new Set<SdkMessageType>()
  for (let mask = 0; mask < 1 << KEYS.length; mask++) {
    const present = KEYS.filter((_, i) => mask & (1 << i))
    const fits = SDK_TABLE.filter(
      ([, must, mustNot]) =>
        must.every((k) => present.includes(k)) && !mustNot.some((k) => present.includes(k)),
    )
    const expected = fits[0]?.[0] ?? 'UNKNOWN'
    // The rows of the table exclude each other, so the first-fit order never changes a result.
    assert.ok(fits.length <= 1, `${present.join(',')} fits ${fits.length} rows`)
    const msg = build(present, { data: { x: 1 }, extra: 'kept' })
    assert.equal(classifySdk(msg), expected, `keys: ${present.join(',') || '(none)'}`)
    seen.add(expected)
  }
  assert.deepEqual([...seen].sort(), ['DIRECT', 'EVENT', 'HOOK', 'REQUEST', 'RESPONSE', 'UNKNOWN'])
})

test('[WP-5][WP-6][WP-7] §3.2 SDK rule: "has" counts null, 0, "" and empty containers, not JSON false', () => {
  const present: ReadonlyArray<Envelope[string]> = [null, 0, '', [], {}, true, 'x']
  for (const [type, must, mustNot] of SDK_TABLE) {
    for (const key of must) {
      for (const v of present) {
        assert.equal(classifySdk(build(must, { [key]: v })), type, `${type} with ${key}=${JSON.stringify(v)}`)
      }
      // A required key that is false is absent: the message no longer fits its row (and fits no other).
      const without = build(
        must.filter((k) => k !== key),
        {},
      )
      assert.equal(
        classifySdk(build(must, { [key]: false })),
        classifySdk(without),
        `${type} with ${key}=false`,
      )
      assert.notEqual(classifySdk(build(must, { [key]: false })), type, `${type} with ${key}=false`)
    }
    for (const key of mustNot) {
      for (const v of present) {
        assert.notEqual(
          classifySdk(build(must, { [key]: v })),
          type,
          `${type} with ${key}=${JSON.stringify(v)}`,
        )
      }
      assert.equal(classifySdk(build(must, { [key]: false })), type, `${type} with ${key}=false`)
    }
  }
})

test('[WP-5] §3.2 SDK rule: id 0 and id null count as present (a REQUEST, where the controller sees an EVENT)', () => {
  for (const id of [0, null, '0']) {
    const msg: Envelope = { id, method: 'get', resource: '/a' }
    assert.equal(classifySdk(msg), 'REQUEST', JSON.stringify(id))
    assert.equal(classifyController(msg), 'EVENT', JSON.stringify(id))
  }
  assert.equal(classifySdk({ id: false, method: 'get', resource: '/a', code: 200 }), 'EVENT')
  assert.equal(classifySdk({ id: 1, method: 'get', resource: '/a', tunnel: null }), 'DIRECT')
  assert.equal(classifySdk({ id: 1, method: 'get', resource: '/a', tunnel: false }), 'REQUEST')
  assert.equal(classifySdk({ id: 1, method: 'get', resource: '/a', sign: null }), 'HOOK')
  assert.equal(classifySdk({ method: 'get', resource: '/a', code: 0 }), 'EVENT')
})

test('[WP-8] §3.2 consequences: these messages are UNKNOWN to the SDK rule and are lost', () => {
  const response = build(['id', 'code', 'method', 'resource', 'sign'], { data: { ok: true } })
  const rows: ReadonlyArray<readonly [string, Envelope]> = [
    ['a response without method', build(['id', 'code', 'resource', 'sign'])],
    ['a response with method false', { ...response, method: false }],
    ['a response without sign', build(['id', 'code', 'method', 'resource'])],
    ['a response with sign false', { ...response, sign: false }],
    ['a response carrying tunnel', { ...response, tunnel: 'reply' }],
    ['a response carrying an empty tunnel', { ...response, tunnel: '' }],
    ['an event without code', { method: 'put', resource: '/a', data: {} }],
    ['an event with code false', { method: 'put', resource: '/a', code: false }],
    ['an empty object', {}],
    ['a message without resource', { id: 1, method: 'get' }],
  ]
  assert.equal(classifySdk(response), 'RESPONSE')
  for (const [why, msg] of rows) assert.equal(classifySdk(msg), 'UNKNOWN', why)
})

test('[WP-5] §3.2 controller rule: no id (absent, non-numeric or 0) is an EVENT, whatever else it has', () => {
  const ids: ReadonlyArray<Envelope[string]> = [undefined, 0, -0, null, false, true, '5', '', [1], { n: 1 }]
  for (const id of ids) {
    for (const extra of [
      {},
      { code: 200 },
      { code: '200' },
      { tunnel: 't' },
      { sign: ['x'] },
    ] as Envelope[]) {
      const msg: Envelope = { method: 'put', resource: '/a', ...extra }
      if (id !== undefined) msg.id = id
      assert.equal(messageId(msg), undefined, `id ${JSON.stringify(id)}`)
      assert.equal(classifyController(msg), 'EVENT', `id ${JSON.stringify(id)} ${JSON.stringify(extra)}`)
    }
  }
  assert.equal(classifyController(JSON.parse('{"id": -0, "method": "get", "resource": "/a"}')), 'EVENT')
})

test('[WP-6][WP-7] §3.2 controller rule: with an id, a numeric code makes a RESPONSE, anything else a REQUEST', () => {
  const rows: ReadonlyArray<readonly [Envelope, 'REQUEST' | 'RESPONSE']> = [
    [{ id: 1 }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a' }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a', code: '200' }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a', code: null }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a', code: false }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a', code: [200] }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a', code: { n: 200 } }, 'REQUEST'],
    [{ id: 1, method: 'get', resource: '/a', sign: ['x'] }, 'REQUEST'], // an SDK HOOK
    [{ id: 1, method: 'get', resource: '/a', tunnel: 't' }, 'REQUEST'], // an SDK DIRECT
    [{ id: -7, method: 'get', resource: '/a' }, 'REQUEST'],
    [{ id: 2147483647, method: 'get', resource: '/a' }, 'REQUEST'],
    [{ id: 1, code: 200 }, 'RESPONSE'],
    [{ id: 1, code: 0 }, 'RESPONSE'],
    [{ id: 1, code: 408, method: 'GET', resource: '/a', sign: ['controller'] }, 'RESPONSE'],
    [{ id: 1, code: 200, tunnel: 'reply' }, 'RESPONSE'],
    [{ id: 655350, code: 500.5 }, 'RESPONSE'],
  ]
  for (const [msg, expected] of rows) {
    assert.equal(classifyController(msg), expected, JSON.stringify(msg))
    assert.equal(messageId(msg), msg.id)
  }
})

test('[WP-6] §3.2 / §8.11: direct iff tunnel is a non-empty string; empty or non-string tunnels mean plain', () => {
  const rows: ReadonlyArray<readonly [Envelope[string], string | undefined]> = [
    ['1793171122', '1793171122'],
    ['4d181bf78b24414884e27530dd6aa7e3', '4d181bf78b24414884e27530dd6aa7e3'],
    [' ', ' '],
    [undefined, undefined],
    ['', undefined],
    [null, undefined],
    [false, undefined],
    [true, undefined],
    [0, undefined],
    [1793171122, undefined],
    [['t'], undefined],
    [{ topic: 't' }, undefined],
  ]
  for (const [tunnel, expected] of rows) {
    const msg: Envelope = { id: 5, method: 'get', resource: '/a' }
    if (tunnel !== undefined) msg.tunnel = tunnel
    assert.equal(classifyController(msg), 'REQUEST', JSON.stringify(tunnel))
    assert.equal(directTunnel(msg), expected, JSON.stringify(tunnel))
  }
})

test('[WP-5][WP-6][WP-7] §3.2: every captured message classifies as the original stack used it', () => {
  let count = 0
  for (const file of captureFiles()) {
    for (const { topic, message } of readCapture(file)) {
      assert.ok(isObject(message), `${file} ${topic}`)
      const msg = message as Envelope
      const where = `${file} ${topic} id ${JSON.stringify(msg.id)}`
      assert.equal(typeof msg.id, 'number', where)
      assert.notEqual(msg.id, 0, where)
      const isResponse = typeof msg.code === 'number'
      assert.equal(classifyController(msg), isResponse ? 'RESPONSE' : 'REQUEST', where)
      // What a Python SDK subscribed to that topic would make of it.
      const sdk = isResponse ? 'RESPONSE' : typeof msg.tunnel === 'string' ? 'DIRECT' : 'REQUEST'
      assert.equal(classifySdk(msg), sdk, where)
      count++
    }
  }
  assert.ok(count >= 40, `only ${count} captured messages`)
})
