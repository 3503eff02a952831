import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GatewayError } from '../../src/errors.ts'
import { parseDuration } from '../../src/tokens/index.ts'

test('parseDuration reads days, hours, minutes, seconds and bare seconds', () => {
  const cases: [string, number][] = [
    ['30d', 2_592_000],
    ['1d', 86_400],
    ['12h', 43_200],
    ['15m', 900],
    ['45s', 45],
    ['3600', 3600],
    ['1', 1],
    ['007m', 420],
  ]
  for (const [text, seconds] of cases) assert.equal(parseDuration(text), seconds, text)
})

test('parseDuration refuses anything else with GW_ERR_TOKEN_INVALID naming the option and the value', () => {
  const bad = [
    'soon',
    '',
    ' 30d',
    '30d ',
    '30 d',
    '30D',
    '1.5h',
    '-5',
    '+5',
    '0',
    '0d',
    '1w',
    '30dd',
    'd',
    '1h30m',
    '9'.repeat(20),
  ]
  for (const text of bad) {
    assert.throws(
      () => parseDuration(text),
      (err: unknown) => {
        assert.ok(err instanceof GatewayError)
        assert.equal(err.code, 'GW_ERR_TOKEN_INVALID')
        assert.equal(err.statusCode, 400)
        assert.ok(
          err.message.startsWith(
            `Expected \`--expires\` to be a duration like 30d, 12h, 15m or 3600, got \`${text}\``,
          ),
          err.message,
        )
        return true
      },
      JSON.stringify(text),
    )
  }
  assert.throws(() => parseDuration('soon'), {
    message: 'Expected `--expires` to be a duration like 30d, 12h, 15m or 3600, got `soon`',
  })
  assert.throws(() => parseDuration('0'), { message: /got `0` \(it must be more than 0/ })
  assert.throws(() => parseDuration('later', 'expiresIn'), {
    message: /^Expected `expiresIn` to be a duration/,
  })
  assert.throws(() => parseDuration(30 as unknown as string), { message: /got `30` \(number\)$/ })
})
