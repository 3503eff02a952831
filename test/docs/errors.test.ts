import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { createError, ERRORS, type ErrorCode, GatewayError } from '../../src/errors.ts'

const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8')
const codes = Object.keys(ERRORS) as ErrorCode[]

test('every error code follows GW_ERR_<AREA>_<WHAT> and has a valid status', () => {
  for (const code of codes) {
    assert.match(code, /^GW_ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/, code)
    assert.ok(ERRORS[code].status >= 400 && ERRORS[code].status <= 599, code)
  }
})

test('docs/errors.md has one row per code, with its status, and names no code that does not exist', () => {
  const rows = [
    ...doc.matchAll(/^\| <a id="(GW_ERR_[A-Z0-9_]+)"><\/a>`(GW_ERR_[A-Z0-9_]+)` *\| *(\d{3}) *\|/gm),
  ]
  const documented = rows.map((r) => r[2])
  assert.deepEqual([...documented].sort(), [...codes].sort())
  for (const [, anchor, code, status] of rows) {
    assert.equal(anchor, code)
    assert.equal(Number(status), ERRORS[code as ErrorCode].status, `${code} status`)
  }
  const mentioned = new Set([...doc.matchAll(/GW_ERR_[A-Z0-9_]+/g)].map((m) => m[0]))
  for (const m of mentioned) assert.ok(codes.includes(m as ErrorCode), `docs name ${m}, which does not exist`)
})

test('createError fills the template and keeps code, status, data and cause', () => {
  const cause = new Error('EROFS')
  const err = createError('GW_ERR_STORE_WRITE', ['example', 'read-only'], { cause, data: { file: 'x' } })
  assert.ok(err instanceof GatewayError)
  assert.equal(err.message, 'Config store example cannot be written: read-only')
  assert.equal(err.code, 'GW_ERR_STORE_WRITE')
  assert.equal(err.statusCode, 500)
  assert.deepEqual(err.data, { file: 'x' })
  assert.equal(err.cause, cause)
})
