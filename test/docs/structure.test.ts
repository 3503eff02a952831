/**
 * The size limits of the code (issue 13, docs/architecture.md): no file in src/ over 400 lines, no function over
 * 80 lines, measured by scripts/long-functions.ts with the TypeScript parser. What is over a limit on purpose, or
 * for now, is listed below with the reason; an entry that is no longer over its limit fails too, so the list
 * cannot go stale.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  functionsOf,
  MAX_FILE_LINES,
  MAX_FUNCTION_LINES,
  type Measured,
  overLimits,
} from '../../scripts/long-functions.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

/** Files allowed over {@link MAX_FILE_LINES}, by path. */
const FILES_ALLOWED: Record<string, string> = {}

/** Functions allowed over {@link MAX_FUNCTION_LINES}, by `path:name`. */
const FUNCTIONS_ALLOWED: Record<string, string> = {
  // Data tables: a list of declarations, one entry after the other, nothing to split into steps.
  'src/metrics/gateway-metrics.ts:GatewayMetrics.#pollMetrics':
    'data table (one declaration per polled metric)',
}

const { files, functions } = overLimits(REPO_ROOT)
const key = (f: Measured) => `${f.file}:${f.name}`

test(`no file in src/ is over ${MAX_FILE_LINES} lines, but those allowed (with the reason)`, () => {
  const over = files.filter((f) => !(f.file in FILES_ALLOWED)).map((f) => `${f.file}: ${f.lines} lines`)
  assert.deepEqual(over, [], 'split these files (one thing each, named for what they export)')
})

test(`no function in src/ is over ${MAX_FUNCTION_LINES} lines, but those allowed (with the reason)`, () => {
  const over = functions
    .filter((f) => !(key(f) in FUNCTIONS_ALLOWED))
    .map((f) => `${f.file}:${f.line} ${f.name}: ${f.lines} lines`)
  assert.deepEqual(over, [], 'split these functions into named steps')
})

test('every allowed entry is still over its limit (remove the ones that are not)', () => {
  const stale = [
    ...Object.keys(FILES_ALLOWED).filter((path) => !files.some((f) => f.file === path)),
    ...Object.keys(FUNCTIONS_ALLOWED).filter((k) => !functions.some((f) => key(f) === k)),
  ]
  assert.deepEqual(stale, [])
})

test('the measure counts from the first token to the closing brace, names methods and callbacks', () => {
  const body = (n: number) => Array.from({ length: n - 2 }, (_, i) => `  const v${i} = ${i}`).join('\n')
  const text = [
    '/** a doc comment is not counted */',
    `function fits() {\n${body(MAX_FUNCTION_LINES)}\n}`,
    `class A {\n  long() {\n${body(MAX_FUNCTION_LINES + 1)}\n  }\n}`,
    `export const arrow = () => {\n  run(() => {\n${body(MAX_FUNCTION_LINES + 1)}\n  })\n}`,
  ].join('\n')
  const measured = functionsOf('x.ts', text)
  const lengths = Object.fromEntries(measured.map((f) => [f.name, f.lines]))
  assert.deepEqual(lengths, {
    fits: MAX_FUNCTION_LINES,
    'A.long': MAX_FUNCTION_LINES + 1,
    arrow: MAX_FUNCTION_LINES + 3,
    'arrow/<anonymous>': MAX_FUNCTION_LINES + 1,
  })
  assert.equal(measured.find((f) => f.name === 'fits')?.line, 2)
})
