import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  bundleResponse,
  CONTROLLER_SIGN,
  classifySdk,
  controllerMessage,
  type Envelope,
  isWrite,
} from '../../src/protocol/index.ts'
import { captureFiles, readCapture } from '../helpers/captures.ts'

test('[WP-8] controllerMessage upper-cases method, unknown verbs included (§8.11)', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['get', 'GET'],
    ['Put', 'PUT'],
    ['post', 'POST'],
    ['DELETE', 'DELETE'],
    ['frobnicate', 'FROBNICATE'],
  ]
  for (const [method, expected] of cases) {
    const msg = controllerMessage({ id: 7, code: 404, method, resource: '/nope' })
    assert.equal(msg.method, expected)
  }
})

test('[WP-9] controllerMessage signs ["controller"] and never carries tunnel', () => {
  assert.equal(CONTROLLER_SIGN, 'controller')
  const a = controllerMessage({ id: 1, code: 200, method: 'get', resource: '/a', data: { x: 1 } })
  const b = controllerMessage({ id: 2, code: 500, method: 'put', resource: '/b' })
  for (const msg of [a, b]) {
    assert.deepEqual(msg.sign, ['controller'])
    assert.equal(Object.hasOwn(msg, 'tunnel'), false)
    // The Python SDK accepts it as a RESPONSE: method and sign present, no tunnel (§3.2, §8.11).
    assert.equal(classifySdk(msg), 'RESPONSE')
  }
  assert.notEqual(a.sign, b.sign, 'each message gets its own sign array')
})

test('[WP-8][WP-9] §3.3: controllerMessage builds the two controller errors shown, data left out when none', () => {
  assert.deepEqual(
    controllerMessage({
      id: 105,
      code: 423,
      method: 'get',
      resource: '/network/ethernet/2',
      data: { message: 'resource is locked' },
    }),
    {
      id: 105,
      code: 423,
      method: 'GET',
      resource: '/network/ethernet/2',
      sign: ['controller'],
      data: { message: 'resource is locked' },
    },
  )
  const notFound = controllerMessage({ id: 7001, code: 404, method: 'get', resource: '/nope' })
  assert.deepEqual(notFound, { id: 7001, code: 404, method: 'GET', resource: '/nope', sign: ['controller'] })
  assert.equal(Object.hasOwn(notFound, 'data'), false)
  const explicit = controllerMessage({
    id: 7001,
    code: 404,
    method: 'get',
    resource: '/nope',
    data: undefined,
  })
  assert.equal(Object.hasOwn(explicit, 'data'), false)
  assert.deepEqual(
    controllerMessage({ id: 1, code: 200, method: 'get', resource: '/a', data: null }).data,
    null,
  )
})

test('[WP-25] §5.7: controllerMessage keeps the resource as received, query included', () => {
  const msg = controllerMessage({ id: 1, code: 404, method: 'get', resource: '/a/b?x=1?y=/z' })
  assert.equal(msg.resource, '/a/b?x=1?y=/z')
})

test('[WP-8][WP-9] every controller-built message in the captures equals what controllerMessage builds', () => {
  let count = 0
  for (const file of captureFiles()) {
    for (const { topic, message } of readCapture(file)) {
      const msg = message as Envelope
      if (!Array.isArray(msg.sign) || msg.sign[0] !== 'controller') continue
      const init = {
        id: msg.id as number,
        code: msg.code as number,
        method: (msg.method as string).toLowerCase(),
        resource: msg.resource as string,
        data: msg.data,
      }
      assert.deepEqual(controllerMessage(init), msg, `${file} ${topic}`)
      count++
    }
  }
  assert.ok(count >= 10, `only ${count} controller-built messages`)
})

test('§6 item 6: bundleResponse answers the captured request exactly as the Python SDK did', () => {
  const records = readCapture('wire-mqtt-direct.txt')
  const request = records.find(
    (r) => r.topic === '/controller' && (r.message as Envelope).id === 101,
  )?.message
  const captured = records.find(
    (r) =>
      r.topic === '/controller' && (r.message as Envelope).id === 101 && (r.message as Envelope).code === 200,
  )?.message
  assert.deepEqual(request, { id: 101, method: 'get', resource: '/example', tunnel: 'my-tunnel-1' })
  assert.deepEqual(captured, {
    id: 101,
    method: 'get',
    resource: '/example',
    data: { key: 'value' },
    code: 200,
    sign: ['example'],
  })
  assert.deepEqual(bundleResponse(request as Envelope, 200, { key: 'value' }, 'example'), captured)
})

test('§6 item 6: every bundle response in the captures is bundleResponse of its request', () => {
  let count = 0
  for (const file of captureFiles()) {
    const records = readCapture(file)
    for (const { topic, message } of records) {
      const response = message as Envelope
      if (topic !== '/controller' || !Array.isArray(response.sign) || response.sign[0] !== 'example') continue
      const request = records.find(
        (r) =>
          r.topic === '/controller' &&
          (r.message as Envelope).id === response.id &&
          !('code' in (r.message as Envelope)),
      )
      assert.ok(request, `${file}: no request for id ${String(response.id)}`)
      const built = bundleResponse(
        request.message as Envelope,
        response.code as number,
        response.data,
        'example',
      )
      assert.deepEqual(built, response, `${file} id ${String(response.id)}`)
      count++
    }
  }
  assert.ok(count >= 7, `only ${count} bundle responses`)
})

test('§6 item 6: bundleResponse removes tunnel, param, query and `_` keys and echoes every other key', () => {
  const request: Envelope = {
    id: 627179,
    method: 'get',
    resource: '/thermo/5?x=1&flag',
    tunnel: '1793171122',
    param: { id: '5' },
    query: { x: '1', flag: true },
    _private: 1,
    __proto__x: 2,
    _: 3,
    caller: { token: 'tok-1', scope: 'read' },
    custom: [1, 2],
    data: { asked: true },
  }
  const before = structuredClone(request)
  const response = bundleResponse(
    request,
    200,
    { param: { id: '5' }, query: { x: '1', flag: true } },
    'thermo',
  )
  assert.deepEqual(response, {
    id: 627179,
    method: 'get',
    resource: '/thermo/5?x=1&flag',
    caller: { token: 'tok-1', scope: 'read' },
    custom: [1, 2],
    code: 200,
    sign: ['thermo'],
    data: { param: { id: '5' }, query: { x: '1', flag: true } },
  })
  assert.deepEqual(request, before, 'the request is left untouched')
  assert.equal(classifySdk(response), 'RESPONSE')
})

test('§6 item 6: bundleResponse sets code and data, data null when there is none', () => {
  const request: Envelope = { id: 1, method: 'put', resource: '/a', data: { old: true } }
  const cases: ReadonlyArray<readonly [Envelope['data'] | undefined, Envelope['data']]> = [
    [undefined, null],
    [null, null],
    [0, 0],
    [false, false],
    ['', ''],
    [[1], [1]],
    [{ new: true }, { new: true }],
  ]
  for (const [data, expected] of cases) {
    const response = bundleResponse(request, 201, data, 'b')
    assert.equal(Object.hasOwn(response, 'data'), true)
    assert.deepEqual(response.data, expected, JSON.stringify(data))
    assert.equal(response.code, 201)
  }
  assert.equal(bundleResponse(request, 404, undefined, 'b').code, 404)
})

test('§6 item 6: bundleResponse appends the bundle name to sign, or creates sign', () => {
  assert.deepEqual(bundleResponse({ id: 1, method: 'get', resource: '/a' }, 200, null, 'ethernet').sign, [
    'ethernet',
  ])
  const hook: Envelope = { id: 101, method: 'put', resource: '/network/ethernet/1', sign: ['ethernet'] }
  const response = bundleResponse(hook, 200, { gw: '1.1.1.254' }, 'route')
  assert.deepEqual(response.sign, ['ethernet', 'route'])
  assert.deepEqual(hook.sign, ['ethernet'], 'the request sign is not mutated')
})

test('§1: a write method is anything but get, compared case-insensitively', () => {
  for (const m of ['get', 'GET', 'Get', 'gEt']) assert.equal(isWrite(m), false, m)
  for (const m of ['post', 'PUT', 'delete', 'patch', 'frobnicate', '', 'get ', 'gets'])
    assert.equal(isWrite(m), true, m)
})
