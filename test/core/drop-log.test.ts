import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DropLog } from '../../src/drop-log.ts'
import { logSink } from '../helpers/gateway.ts'

test('DropLog: every drop counted, at most one warn line per reason per 10 s, with the drops since the last', () => {
  const { logger, lines } = logSink('warn')
  let now = 1_000_000
  const drops = new DropLog(logger, { now: () => now })
  for (let i = 0; i < 500; i++) {
    drops.drop('too deep', { depth: 100 + i })
    now += 10 // 5 s in all
  }
  drops.drop('other reason')
  assert.equal(drops.total, 501)
  assert.equal(lines.length, 2, 'the first drop of each reason is logged at once')
  assert.deepEqual([lines[0]?.msg, lines[0]?.dropped, lines[0]?.depth], ['too deep', 1, 100])
  now += 5_000
  drops.drop('too deep', { depth: 7 })
  assert.equal(lines.length, 3)
  assert.deepEqual(
    [lines[2]?.msg, lines[2]?.dropped, lines[2]?.depth, lines[2]?.level],
    ['too deep', 500, 7, 40],
  )
  drops.drop('too deep')
  assert.equal(lines.length, 3)
})
