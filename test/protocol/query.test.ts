import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseQuery, type Query, querySearch } from '../../src/protocol/index.ts'

test('§6 item 8: the example `x=1&flag&a=1&a=2` gives {x: "1", flag: true, a: ["1", "2"]}', () => {
  assert.deepEqual(parseQuery('x=1&flag&a=1&a=2'), { x: '1', flag: true, a: ['1', '2'] })
})

const TABLE: ReadonlyArray<readonly [string, string, Query]> = [
  ['a single value is a string', 'x=1', { x: '1' }],
  ['a bare key is true', 'flag', { flag: true }],
  ['an empty single value is true', 'flag=', { flag: true }],
  ['a repeated key is a list, in order', 'a=3&a=1&a=2', { a: ['3', '1', '2'] }],
  ['a repeated key keeps empty values as strings', 'a&a=1&a=', { a: ['', '1', ''] }],
  ['the value is split at the first `=`', 'a=1=2', { a: '1=2' }],
  [
    'values are URL-decoded',
    'p=%2Fnetwork%2Fethernet&s=a%20b&e=caf%C3%A9',
    { p: '/network/ethernet', s: 'a b', e: 'café' },
  ],
  ['an encoded `&` and `=` stay in the value', 'a=1%262%3D3', { a: '1&2=3' }],
  ['a value decoding to a space is not empty', 'a=%20', { a: ' ' }],
  ['each repeated value is decoded', 'a=%41&a=%42', { a: ['A', 'B'] }],
  ['empty keys are dropped', '=1&x=2&=', { x: '2' }],
  ['empty parts are dropped', '&&x=2&', { x: '2' }],
  ['an empty string gives an empty object', '', {}],
  ['a lone `=` gives an empty object', '=', {}],
  ['malformed percent-encoding is kept raw', 'a=%zz&b=%&c=100%', { a: '%zz', b: '%', c: '100%' }],
  ['an invalid UTF-8 escape is kept raw', 'a=%C3&b=%E0%A4', { a: '%C3', b: '%E0%A4' }],
  ['a `?` in the search is an ordinary character', 'a=1?b=2', { a: '1?b=2' }],
  ['keys are case-sensitive', 'A=1&a=2', { A: '1', a: '2' }],
  [
    'keys named like Object.prototype members are ordinary keys',
    'constructor=1&toString',
    { constructor: '1', toString: true as const },
  ],
]

for (const [why, search, expected] of TABLE) {
  test(`§6 item 8: ${why} (${JSON.stringify(search)})`, () => {
    const query = parseQuery(search)
    assert.deepEqual(query, expected)
    assert.equal(Object.getPrototypeOf(query), Object.prototype)
  })
}

test('§6 item 8: a `__proto__` key is an own key of the result and leaves the prototype alone', () => {
  const single = parseQuery('__proto__=1')
  assert.deepEqual(Object.entries(single), [['__proto__', '1']])
  assert.equal(Object.getPrototypeOf(single), Object.prototype)
  const repeated = parseQuery('__proto__=1&__proto__=2')
  assert.deepEqual(Object.entries(repeated), [['__proto__', ['1', '2']]])
  assert.equal(Object.getPrototypeOf(repeated), Object.prototype)
})

test('§6 item 8: the §3.3 example resource gives the query shown in its response', () => {
  assert.deepEqual(parseQuery(querySearch('/thermo/5?x=1&flag')), { x: '1', flag: true })
})

test('§6 item 8: querySearch is everything after the FIRST `?`, or "" without one', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/a', ''],
    ['/a?', ''],
    ['/a?x=1', 'x=1'],
    ['/a?x=1?y=2', 'x=1?y=2'],
    ['/a??x', '?x'],
    ['?x=1', 'x=1'],
    ['/network/ethernet/1?x=/a/b', 'x=/a/b'],
  ]
  for (const [resource, search] of cases) assert.equal(querySearch(resource), search, resource)
  assert.deepEqual(parseQuery(querySearch('/a?x=1?y=2&z')), { x: '1?y=2', z: true })
})
