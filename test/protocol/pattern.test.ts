import assert from 'node:assert/strict'
import { test } from 'node:test'
import { matchingPatterns, patternMatches, resourceName } from '../../src/protocol/index.ts'

/** Every pattern the §5.1 table mentions, matching or not. */
const REGISTRY: readonly string[] = [
  '/',
  '#',
  '/#',
  '+',
  '/+',
  '/networ+',
  '/network',
  '/network/',
  '/network#',
  '/network/+',
  '/network/#',
  '/network/etherne+',
  '/network/ethernet',
  '/+/#',
  '/+/+/#',
  '/network/ethernet/+',
  '/network/ethernet/#',
  '/network/ethernet/1',
  '/network/ethernet/1+',
  '/network/ethernet/+/+',
  '/network/ethernet/+/2',
  '/network/ethernet/1/+',
  '/network/ethernet/+/#',
  '/network/ethernet/1/2',
  '/a+b',
]

const ROW_NETWORK_ETHERNET = [
  '/#',
  '#',
  '/network/+',
  '/network/#',
  '/network#',
  '/network/etherne+',
  '/network/ethernet',
  '/+/#',
]
const ROW_NETWORK_ETHERNET_1 = [
  '/#',
  '#',
  '/network/#',
  '/network#',
  '/network/ethernet/+',
  '/network/ethernet/#',
  '/network/ethernet/1',
  '/+/#',
  '/+/+/#',
]

/** The rows of the §5.1 table (the `…?query` variants the table names included). */
const TABLE: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/', ['/', '#']],
  ['/network', ['/+', '/#', '#', '/networ+', '/network']],
  ['/network/', ['/#', '#', '/network/', '/network#']],
  ['/network/ethernet', ROW_NETWORK_ETHERNET],
  ['/network/ethernet?collection=true', ROW_NETWORK_ETHERNET],
  ['/network/ethernet/1', ROW_NETWORK_ETHERNET_1],
  ['/network/ethernet/1?x=/a/b', ROW_NETWORK_ETHERNET_1],
  [
    '/network/ethernet/1/2',
    [
      '/#',
      '#',
      '/network/#',
      '/network#',
      '/network/ethernet/#',
      '/network/ethernet/+/+',
      '/network/ethernet/+/2',
      '/network/ethernet/1/+',
      '/network/ethernet/+/#',
      '/network/ethernet/1/2',
      '/+/#',
      '/+/+/#',
    ],
  ],
]

/** Compares as sets (§5.1: "compare as sets"), also checking that nothing is listed twice. */
function assertSameSet(actual: readonly string[], expected: readonly string[], message: string): void {
  assert.equal(new Set(actual).size, actual.length, `${message}: duplicates in ${JSON.stringify(actual)}`)
  assert.deepEqual([...actual].sort(), [...expected].sort(), message)
}

for (const [resource, expected] of TABLE) {
  test(`[WP-24] §5.1 table: ${resource} matches exactly ${expected.length} patterns`, () => {
    assertSameSet(matchingPatterns(REGISTRY, resource), expected, resource)
  })
}

test('[WP-24] §5.1 step 4: the real result follows registry order', () => {
  const reversed = [...REGISTRY].reverse()
  for (const [resource, expected] of TABLE) {
    const result = matchingPatterns(reversed, resource)
    assertSameSet(result, expected, resource)
    // The result follows registry order (none of these rows needs the equality step).
    assert.deepEqual(
      result,
      reversed.filter((p) => expected.includes(p)),
      resource,
    )
  }
})

/** The negative rows of the §5.1 table, and the notes of the positive rows. */
const NEGATIVE: ReadonlyArray<readonly [string, string, string]> = [
  ['/', '/#', 'nothing is left after the `/`'],
  ['/network/ethernet/1', '/network/+', '`+` stops at `/`'],
  ['/network/ethernet/1', '/network/ethernet/1+', '`+` needs a character'],
  ['/network', '+', 'a resource starting with `/` fails at once'],
  ['/network/ethernet', '+', 'a resource starting with `/` fails at once'],
  ['/axb', '/a+b', '`+` consumed `xb`'],
  ['/network', '/network#', '`#` needs at least one character'],
  ['/network/', '/network/+', '`+` needs a character'],
  ['/network/', '/+', 'the name is not exhausted after `+`'],
  ['/network/ethernet', '/+/+/#', 'the name ends before the second `/`'],
  ['/network/ethernet/1/2', '/network/ethernet/+', 'the name is not exhausted after `+`'],
]

for (const [resource, pattern, why] of NEGATIVE) {
  test(`[WP-24] §5.1: ${resource} is not matched by ${pattern} (${why})`, () => {
    assert.equal(patternMatches(pattern, resourceName(resource)), false)
    assert.deepEqual(matchingPatterns([pattern], resource), [])
    assert.ok(!matchingPatterns(REGISTRY, resource).includes(pattern))
  })
}

test('[WP-24] §5.1: `/axb` matches none of the registry but `#` and `/#` and `/+`', () => {
  assertSameSet(matchingPatterns(REGISTRY, '/axb'), ['#', '/#', '/+'], '/axb')
})

test('[WP-25] §5.1 step 1: the resource is cut at its LAST `?`', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/a', '/a'],
    ['/a?x=1', '/a'],
    ['/a?', '/a'],
    ['?x', ''],
    ['/a?b?c', '/a?b'],
    ['/network/ethernet/1?x=1?y=2', '/network/ethernet/1?x=1'],
  ]
  for (const [resource, name] of cases) assert.equal(resourceName(resource), name, resource)
})

test('[WP-25] §5.1 step 1: everything before the last `?` takes part in matching', () => {
  // The name is `/network/ethernet/1?x=1`, so the exact pattern no longer matches but `+` takes `1?x=1`.
  const result = matchingPatterns(REGISTRY, '/network/ethernet/1?x=1?y=2')
  assert.ok(!result.includes('/network/ethernet/1'))
  assert.ok(result.includes('/network/ethernet/+'))
  assert.ok(result.includes('/network/ethernet/#'))
  // A pattern may itself contain `?`: it is an ordinary character.
  assert.deepEqual(matchingPatterns(['/a?b', '/a'], '/a?b?c'), ['/a?b'])
  assert.deepEqual(matchingPatterns(['/a?b', '/a'], '/a?b'), ['/a'])
})

test('[WP-24] §5.1 step 3: `/+x` matches the resource `/+x` by plain equality only', () => {
  assert.equal(patternMatches('/+x', '/+x'), true)
  assert.equal(patternMatches('/+x', '/ax'), false)
  assert.equal(patternMatches('/+x', '/+xx'), false)
  assert.deepEqual(matchingPatterns(['/+x'], '/+x?q=1'), ['/+x'])
  assert.deepEqual(matchingPatterns(['/+x'], '/ax'), [])
})

test('[WP-24] §5.1 step 4: walk matches in registry order, then the equal pattern if not already listed', () => {
  assert.deepEqual(matchingPatterns(['/+x', '/+', '#'], '/+x'), ['/+', '#', '/+x'])
  assert.deepEqual(matchingPatterns(['#', '/+x', '/#'], '/+x'), ['#', '/#', '/+x'])
  // An equal pattern that also passes the walk keeps its registry position and is listed once.
  assert.deepEqual(matchingPatterns(['/a', '#', '/+'], '/a'), ['/a', '#', '/+'])
})

test('[WP-24] §5.1: `#` inside a segment takes one or more characters of anything, `/` included', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['/net#', '/network', true],
    ['/net#', '/network/ethernet/1', true],
    ['/net#', '/net', false],
    ['/net#', '/ne', false],
    ['/a#b', '/ax', true], // `#` stops the walk: what follows it in the pattern is never looked at
    ['/a#b', '/a/b/c', true],
    ['/a#b', '/a', false],
    ['#', '', false],
    ['#', 'x', true],
    ['/#', '//', true],
  ]
  for (const [pattern, name, expected] of cases) {
    assert.equal(patternMatches(pattern, name), expected, `${pattern} vs ${name}`)
  }
})

test('[WP-24] §5.1: `+` inside a segment greedily takes a non-empty run without `/`, with no backtracking', () => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['/net+', '/network', true],
    ['/net+', '/net', false],
    ['/net+', '/network/x', false],
    ['/net+/eth', '/network/eth', true],
    ['/x+/y', '/xa/y', true],
    ['/x+/y', '/x/y', false],
    ['/+work', '/network', false], // `+` consumed `network`
    ['/a+b', '/axb', false],
    ['/+/+', '/a/b', true],
    ['/+/+', '/a/', false],
    ['/+/+', '//b', false],
    ['+', 'network', true],
    ['+/+', 'a/b', true],
  ]
  for (const [pattern, name, expected] of cases) {
    assert.equal(patternMatches(pattern, name), expected, `${pattern} vs ${name}`)
  }
})

test('[WP-24] §5.1 step 4 / §2.3: no normalisation, and comparison is case-sensitive', () => {
  assert.deepEqual(matchingPatterns(['/a/'], '/a'), [])
  assert.deepEqual(matchingPatterns(['/a'], '/a/'), [])
  assert.deepEqual(matchingPatterns(['/Network'], '/network'), [])
  assert.deepEqual(matchingPatterns(['/network/+'], '/Network/x'), [])
  assert.deepEqual(matchingPatterns(['/a'], ' /a'), [])
})
