import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assignOwn,
  bundleResponse,
  jsonDepth,
  MAX_JSON_DEPTH,
  messageDepth,
  messageHead,
  parsePayload,
} from '../../src/protocol/index.ts'
import { pick, prng } from '../helpers/prng.ts'

const nest = (n: number, open = '[', close = ']', inner = '1') => open.repeat(n) + inner + close.repeat(n)

test('§8.9 jsonDepth: the deepest nesting of arrays and objects, in one pass', () => {
  assert.equal(jsonDepth('1'), 0)
  assert.equal(jsonDepth('"x"'), 0)
  assert.equal(jsonDepth('{}'), 1)
  assert.equal(jsonDepth('[[],[[]]]'), 3)
  assert.equal(jsonDepth('{"a":[1],"b":{"c":{"d":null}}}'), 3)
  assert.equal(jsonDepth(nest(6000)), 6000)
  assert.equal(jsonDepth(nest(300, '{"k":', '}')), 300)
  // brackets inside strings do not count, escapes included
  assert.equal(jsonDepth('{"a":"[[[{{{"}'), 1)
  assert.equal(jsonDepth('{"a":"\\"[[["}'), 1)
  assert.equal(
    jsonDepth('{"a":"\\\\","b":[[1]]}'),
    3,
    'an escaped backslash does not escape the quote after it',
  )
  assert.equal(jsonDepth('["\\\\\\"[", [1]]'), 2)
  // never closed: the string runs to the end
  assert.equal(jsonDepth('["[[[[['), 1)
  // unicode, lone surrogates and NUL are plain characters
  assert.equal(jsonDepth('["\ud800", "😀", "\u0000", "\u202e", [[]]]'), 3)
  // UTF-8 bytes (an MQTT payload) give the same depth as the decoded text
  for (const text of [
    '{"a":"\\\\","b":[[1]]}',
    '["\\\\\\"[", [1]]',
    '{"ü✓😀":"[[[","x":[{"y":"\\""}]}',
    '["\ud800[", {"\u0000": [[]]}]',
    '["[[[[[',
    nest(70, '{"k":', '}'),
  ]) {
    assert.equal(jsonDepth(Buffer.from(text)), jsonDepth(text), text)
  }
  assert.equal(messageDepth('{"data":[[1]]}'), 2, 'the envelope itself does not count')
  assert.equal(messageDepth('{}'), 0)
})

/** The plain state machine, byte by byte: the reference the fast scans must agree with. */
function referenceDepth(text: string): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '[' || c === '{') max = Math.max(max, ++depth)
    else if ((c === ']' || c === '}') && depth > 0) depth--
  }
  return max
}

test('§8.9 jsonDepth of bytes and of text agree with a plain state machine on 3,000 seeded random texts', () => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261204)
  const r = prng(seed)
  const alphabet = ['"', '\\', '[', ']', '{', '}', 'x', ',', ':', 'ü', '😀', '\u0000']
  for (let n = 0; n < 3000; n++) {
    let text = ''
    const len = Math.floor(r() * 300)
    for (let i = 0; i < len; i++) {
      // runs of one character (long strings, backslash runs) cross the 64-byte short-string window
      const ch = pick(r, alphabet)
      text += r() < 0.1 ? ch.repeat(1 + Math.floor(r() * 100)) : ch
    }
    const want = referenceDepth(text)
    assert.equal(jsonDepth(text), want, `text (seed ${seed}, case ${n}): ${JSON.stringify(text)}`)
    assert.equal(
      jsonDepth(Buffer.from(text)),
      want,
      `bytes (seed ${seed}, case ${n}): ${JSON.stringify(text)}`,
    )
  }
})

test('§8.9 parsePayload: a message nested over 64 is not parsed; its shallow head is kept', () => {
  const ok = parsePayload(`{"id":1,"data":${nest(MAX_JSON_DEPTH)}}`)
  assert.equal(ok.ok, true, 'exactly 64 levels of data pass')
  const deep = `{"id":7,"method":"put","resource":"/x","data":${nest(MAX_JSON_DEPTH + 1)},"tunnel":"t1","sign":["a"],"o":{"p":{"q":1}}}`
  const r = parsePayload(deep)
  assert.equal(r.ok, false)
  assert.ok(!r.ok && r.reason === 'too-deep')
  assert.equal(r.depth, 65)
  assert.equal(r.limit, 64)
  assert.deepEqual(r.head, { id: 7, method: 'put', resource: '/x', tunnel: 't1', sign: ['a'] })
  // bytes parse the same as strings; a smaller budget applies
  const bytes = parsePayload(Buffer.from('{"id":1,"data":[[[1]]]}'), { maxDepth: 2 })
  assert.ok(!bytes.ok && bytes.reason === 'too-deep' && bytes.depth === 3 && bytes.limit === 2)
  // the 6,000-deep message of issue 12 answers in well under the stack
  const six = parsePayload(`{"id":9,"method":"get","resource":"/a","tunnel":"r","data":${nest(6000)}}`)
  assert.ok(!six.ok && six.reason === 'too-deep' && six.depth === 6000)
  assert.equal(six.head?.tunnel, 'r')
})

test('§8.9 messageHead: top-level fields nesting at most one level, own keys, broken text undefined', () => {
  const head = messageHead(
    ' { "__proto__" : {"admin":true} , "id" : 1e2, "x": "a,}]" , "d": [[1]], "d2": [1], "id": 5 } ',
  )
  assert.ok(head)
  assert.equal(Object.getPrototypeOf(head), Object.prototype, 'no prototype was set')
  assert.deepEqual(Object.keys(head), ['__proto__', 'id', 'x', 'd2'])
  assert.equal(head.id, 5, 'the last of duplicate keys wins, as in JSON.parse')
  assert.deepEqual(Object.getOwnPropertyDescriptor(head, '__proto__')?.value, { admin: true })
  assert.equal(({} as Record<string, unknown>).admin, undefined, 'Object.prototype untouched')
  assert.deepEqual(messageHead('{"a":[[1]],"a":2}'), { a: 2 })
  assert.deepEqual(messageHead('{"a":2,"a":[[1]]}'), {}, 'a deep duplicate removes the earlier shallow one')
  for (const bad of ['[1]', '{"a"', '{"a":', '{"a":1', '{"a":1,}', '{a:1}', '{"a":tru}', '', '{"a":"x}']) {
    assert.equal(messageHead(bad), undefined, bad)
  }
  assert.deepEqual(messageHead('{}'), {})
})

test('__proto__ and constructor keys survive merges and bundle responses as data [WP-10]', () => {
  const parsed = JSON.parse(
    '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"a":1}',
  ) as Record<string, unknown>
  const merged = assignOwn({} as Record<string, unknown>, parsed)
  assert.equal(Object.getPrototypeOf(merged), Object.prototype)
  assert.deepEqual(Object.keys(merged), ['__proto__', 'constructor', 'a'])
  assert.equal(
    JSON.stringify(merged),
    '{"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"a":1}',
  )
  const request = JSON.parse('{"id":1,"method":"get","resource":"/a","__proto__":{"p":1},"tunnel":"t"}')
  const response = bundleResponse(request, 200, null, 'b')
  assert.equal(Object.getPrototypeOf(response), Object.prototype)
  // keys starting with `_` are not echoed (§6 item 6), `__proto__` neither: dropped, never a prototype
  assert.equal(Object.hasOwn(response, '__proto__'), false)
  const echoed = bundleResponse(JSON.parse('{"id":1,"constructor":{"p":1}}'), 200, null, 'b')
  assert.deepEqual(echoed.constructor, { p: 1 })
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})
