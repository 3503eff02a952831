/**
 * createError's arguments are typed from the code's message template (src/errors.ts): one per `%s`, a number per
 * `%d`. The `@ts-expect-error` lines are the test for the type: `npm run typecheck` fails when one of them stops
 * being an error. The runtime assertions check that the typed calls format as before.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createError, type ErrorArgs, type TemplateArgs } from '../../src/errors.ts'
import { errorReply } from '../../src/web/http-error.ts'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const is = <T extends true>(value: T) => value

test('TemplateArgs counts %s and %d in order; other % signs are text', () => {
  is<Equal<TemplateArgs<'no placeholder'>, readonly []>>(true)
  is<Equal<TemplateArgs<'%s'>, readonly [unknown]>>(true)
  is<Equal<TemplateArgs<'no answer to %s %s within %d ms'>, readonly [unknown, unknown, number]>>(true)
  is<Equal<TemplateArgs<'100% sure: %d%'>, readonly [number]>>(true)
  is<Equal<ErrorArgs<'GW_ERR_BROKER_LISTEN'>, readonly [unknown, number, unknown]>>(true)
  is<Equal<ErrorArgs<'GW_ERR_INTERNAL'>, readonly []>>(true)
})

test('createError and errorReply take exactly the arguments of the template', () => {
  const listen = createError('GW_ERR_BROKER_LISTEN', ['127.0.0.1', 1883, 'EADDRINUSE'])
  assert.equal(listen.message, 'Embedded broker cannot listen on 127.0.0.1:1883: EADDRINUSE')
  assert.equal(createError('GW_ERR_INTERNAL').message, 'internal server error')
  assert.equal(createError('GW_ERR_INTERNAL', []).statusCode, 500)
  const cause = new Error('x')
  assert.equal(createError('GW_ERR_BAD_REQUEST', ['bad'], { cause }).cause, cause)
  assert.deepEqual(errorReply('GW_ERR_ROUTE_NOT_FOUND', ['/x'], { extra: 1 }), {
    status: 404,
    body: { message: "no bundle provides '/x'", extra: 1, code: 'GW_ERR_ROUTE_NOT_FOUND' },
  })
  assert.equal(errorReply('GW_ERR_METHOD_NOT_ALLOWED').status, 405)

  // Wrong calls still format at run time (a missing argument shows as "undefined"); the type refuses them.
  // @ts-expect-error one argument too few
  assert.match(createError('GW_ERR_BROKER_LISTEN', ['127.0.0.1', 1883]).message, /undefined/)
  // @ts-expect-error one argument too many
  createError('GW_ERR_BAD_REQUEST', ['a', 'b'])
  // @ts-expect-error %d takes a number
  createError('GW_ERR_PAYLOAD_TOO_LARGE', ['1 MiB'])
  // @ts-expect-error the template has placeholders: the arguments are required
  createError('GW_ERR_BAD_REQUEST')
  // @ts-expect-error no placeholder, no argument
  createError('GW_ERR_INTERNAL', ['surplus'])
  // @ts-expect-error the same through the web service's wrapper
  errorReply('GW_ERR_ROUTE_NOT_FOUND', [])
  // @ts-expect-error and with the extra fields
  errorReply('GW_ERR_RATE_LIMITED', ['from this address'], { retryAfter: 1 })
})
