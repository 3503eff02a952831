import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createLogger } from '../../src/logger.ts'

test('secrets never reach a log line: tokens, passwords, mx-api-token and Authorization headers are redacted', () => {
  let out = ''
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  const log = createLogger({ level: 'info', destination })
  const secret = 'bgt_SuperSecretValue0123456789abcdefghijklmnopq'
  log.info({ req: { headers: { 'mx-api-token': secret, authorization: `Bearer ${secret}` } } }, 'request')
  log.info({ caller: { token: secret }, user: { password: secret }, key: { secret } }, 'nested')
  log.child({ component: 'x' }).warn({ t: { token: secret } }, 'child')
  assert.ok(out.length > 0)
  assert.ok(!out.includes(secret), out)
  assert.equal(out.match(/\[redacted\]/g)?.length, 6)
})
