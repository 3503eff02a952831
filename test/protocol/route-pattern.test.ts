import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compileRoute, patternMatches, routeToPattern, trimRoute } from '../../src/protocol/index.ts'

test('§6 item 7: trimRoute strips spaces, tabs, CR, LF and `/` at both ends, nothing else', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/network/ethernet/1', 'network/ethernet/1'],
    ['network/ethernet/1', 'network/ethernet/1'],
    ['/network/ethernet/1/', 'network/ethernet/1'],
    ['//network//ethernet//', 'network//ethernet'],
    [' \t\r\n/network/ /\n\r\t ', 'network'],
    ['/a b/', 'a b'],
    ['/', ''],
    [' / \t/ ', ''],
    ['', ''],
    ['\v/a/\f', '\v/a/\f'],
    ['\u00a0/a', '\u00a0/a'],
    ['/a?x=1/', 'a?x=1'],
  ]
  for (const [text, expected] of cases) assert.equal(trimRoute(text), expected, JSON.stringify(text))
})

const ETHERNET = compileRoute('/network/ethernet/:id')

test('§6 item 7: `:name` captures one run of [\\w-]+', () => {
  assert.deepEqual(ETHERNET.params, ['id'])
  assert.equal(ETHERNET.source, '/network/ethernet/:id')
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/network/ethernet/1', '1'],
    ['/network/ethernet/eth0', 'eth0'],
    ['/network/ethernet/eth-0_A', 'eth-0_A'],
    ['/network/ethernet/-', '-'],
    ['/network/ethernet/_', '_'],
  ]
  for (const [resource, id] of cases) assert.deepEqual(ETHERNET.match(resource), { id }, resource)
})

test('§6 item 7: a dot, `%` or any other character outside [\\w-] in the id means no route', () => {
  const resources = [
    '/network/ethernet/1.2',
    '/network/ethernet/a%20b',
    '/network/ethernet/%31',
    '/network/ethernet/a+b',
    '/network/ethernet/a b',
    '/network/ethernet/a:b',
    '/network/ethernet/é',
    '/network/ethernet/',
    '/network/ethernet',
    '/network/ethernet/1/2',
    '/network/ethernet/1\n2',
    '/Network/ethernet/1',
    '/network/ethernetX1',
  ]
  for (const resource of resources)
    assert.equal(ETHERNET.match(resource), undefined, JSON.stringify(resource))
})

test('§6 item 7: both route and resource are trimmed at both ends, so trailing slashes are tolerated', () => {
  const resources = [
    'network/ethernet/1',
    '/network/ethernet/1/',
    '//network/ethernet/1//',
    ' \t/network/ethernet/1/\r\n',
    '\n/network/ethernet/1 ',
  ]
  for (const source of [
    '/network/ethernet/:id',
    'network/ethernet/:id',
    ' /network/ethernet/:id/\n',
    '\t//network/ethernet/:id//',
  ]) {
    const route = compileRoute(source)
    for (const resource of resources)
      assert.deepEqual(route.match(resource), { id: '1' }, `${source} / ${resource}`)
  }
  // Only the ends: an inner doubled slash or a space inside is not tolerated.
  assert.equal(ETHERNET.match('/network//ethernet/1'), undefined)
  assert.equal(ETHERNET.match('/network/ethernet /1'), undefined)
})

test('§6 item 7: an optional `?query` may follow the route', () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string> | undefined]> = [
    ['/network/ethernet/1?x=1', { id: '1' }],
    ['/network/ethernet/1?x=1&flag', { id: '1' }],
    ['/network/ethernet/1?', { id: '1' }],
    ['/network/ethernet/1?x=/a/b', { id: '1' }],
    ['/network/ethernet/1?a=1?b=2', { id: '1' }],
    ['/network/ethernet/1?x=1\ny', { id: '1' }],
    ['/network/ethernet/1?x=1/ ', { id: '1' }],
    // The resource is trimmed as a whole, so what sits before the `?` is not at an end and must match the route.
    ['/network/ethernet/1/?x=1', undefined],
    ['/network/ethernet/1 ?x=1', undefined],
    ['/network/ethernet/1.2?x=1', undefined],
    ['/network/ethernet?id=1', undefined],
  ]
  for (const [resource, expected] of cases)
    assert.deepEqual(ETHERNET.match(resource), expected, JSON.stringify(resource))
  assert.deepEqual(compileRoute('/thermo/:id').match('/thermo/5?x=1&flag'), { id: '5' })
})

test('§6 item 7: several params, and routes without params', () => {
  const route = compileRoute('/thermo/:zone/sensor/:id')
  assert.deepEqual(route.params, ['zone', 'id'])
  assert.deepEqual(route.match('/thermo/north-1/sensor/5'), { zone: 'north-1', id: '5' })
  assert.equal(route.match('/thermo/north/sensor'), undefined)
  assert.equal(route.match('/thermo/north/probe/5'), undefined)

  const plain = compileRoute('/example')
  assert.deepEqual(plain.params, [])
  assert.deepEqual(plain.match('/example'), {})
  assert.deepEqual(plain.match('/example?q=1'), {})
  assert.equal(plain.match('/examples'), undefined)
  assert.equal(plain.match('/example/x'), undefined)
  assert.equal(plain.match('/Example'), undefined)

  // Literal characters of the route are matched literally.
  const dotted = compileRoute('/a.b/:id')
  assert.deepEqual(dotted.match('/a.b/1'), { id: '1' })
  assert.equal(dotted.match('/axb/1'), undefined)
})

test('§4.5: routeToPattern replaces every `:word` with `+`', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/network/ethernet/:id', '/network/ethernet/+'],
    ['/thermo/:zone/sensor/:id', '/thermo/+/sensor/+'],
    ['/example', '/example'],
    ['/', '/'],
    ['/a/:id_2', '/a/+'],
    ['/a/:id-x', '/a/+-x'],
    ['/a/b:c', '/a/b+'],
  ]
  for (const [route, pattern] of cases) assert.equal(routeToPattern(route), pattern, route)
})

test('§4.5 / §5.1: the registered pattern of a route matches the resources the route accepts', () => {
  const route = '/network/ethernet/:id'
  const pattern = routeToPattern(route)
  for (const id of ['1', 'eth-0_A']) {
    const resource = `/network/ethernet/${id}`
    assert.deepEqual(compileRoute(route).match(resource), { id })
    assert.equal(patternMatches(pattern, resource), true, resource)
  }
})
