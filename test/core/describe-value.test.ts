/** The shared value describer and deep freeze (src/describe-value.ts, src/deep-freeze.ts). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { deepFreeze } from '../../src/deep-freeze.ts'
import { describeValue } from '../../src/describe-value.ts'

test('describeValue, as a table: JSON text cut to 60 characters, and the type', () => {
  const circular: Record<string, unknown> = {}
  circular.self = circular
  const table: Array<[unknown, string, string]> = [
    // [value, strings 'json' (default), strings 'raw']
    [undefined, 'nothing', 'nothing'],
    [null, '`null` (null)', '`null` (null)'],
    [-1, '`-1` (number)', '`-1` (number)'],
    ['admin', '`"admin"` (string)', '`admin` (string)'],
    [[1, 2], '`[1,2]` (array)', '`[1,2]` (array)'],
    [{ a: 1 }, '`{"a":1}` (object)', '`{"a":1}` (object)'],
    [true, '`true` (boolean)', '`true` (boolean)'],
    [10n, '`10` (bigint)', '`10` (bigint)'], // JSON cannot show it: String()
    [circular, '`[object Object]` (object)', '`[object Object]` (object)'],
    ['x'.repeat(100), `\`"${'x'.repeat(56)}...\` (string)`, `\`${'x'.repeat(57)}...\` (string)`],
  ]
  for (const [value, json, raw] of table) {
    assert.equal(describeValue(value), json)
    assert.equal(describeValue(value, { strings: 'json' }), json)
    assert.equal(describeValue(value, { strings: 'raw' }), raw)
  }
  assert.match(
    describeValue(() => 1),
    /^`.*` \(function\)$/,
  )
})

test('deepFreeze freezes everything reachable, arrays and frozen parents included, and survives cycles', () => {
  const inner = { list: [{ x: 1 }] }
  const outer = Object.freeze({ inner }) // a frozen parent with unfrozen children
  const root: Record<string, unknown> = { outer, n: 1 }
  root.self = root
  assert.equal(deepFreeze(root), root)
  for (const o of [root, outer, inner, inner.list, inner.list[0]]) assert.ok(Object.isFrozen(o))
  assert.equal(deepFreeze(5), 5)
  assert.equal(deepFreeze(null), null)
})
