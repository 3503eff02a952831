/**
 * What the JSON depth budget (src/protocol/json-budget.ts, wire-protocol.md §8.9) costs at intake: the time of the
 * depth scan next to JSON.parse of the same text, for a typical 200-byte message, a 1 MiB message of realistic shape,
 * 1 MiB of one string, and 1 MiB nested as deep as it goes (refused without parsing). A script, not a test:
 *
 *   node --conditions=bundlegate-dev --import tsx benchmarks/json-budget.ts
 */
import { jsonDepth } from '../src/protocol/index.ts'

const MIB = 1_048_576

function typical(): string {
  return JSON.stringify({
    id: 1_234_567,
    method: 'put',
    resource: '/example/settings?force=1',
    tunnel: '4f1c2a9e0b7d4c3e8a6f5b2d1c0e9f8a',
    data: { key: 'value', enabled: true, level: 3, tags: ['a', 'b'], name: 'Gateway ü ✓' },
    sign: ['web'],
  })
}

function realistic(size: number): string {
  const items: unknown[] = []
  let text = ''
  for (let i = 0; text.length < size - 200; i++) {
    items.push({
      id: i,
      name: `item ${i} ✓`,
      value: i * 1.5,
      on: i % 2 === 0,
      tags: ['x', `t${i % 10}`],
      note: '"q" \\ [x]',
    })
    if (i % 500 === 0) text = JSON.stringify({ id: 1, method: 'put', resource: '/x', data: items })
  }
  return JSON.stringify({ id: 1, method: 'put', resource: '/x', data: items })
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/** Median µs per call of `fn` over `rounds` rounds of `n` calls, after a warm-up. */
function time(fn: () => unknown, n: number, rounds = 15): number {
  for (let i = 0; i < n; i++) fn()
  const per: number[] = []
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) fn()
    per.push(Number(process.hrtime.bigint() - t0) / 1000 / n)
  }
  return median(per)
}

const cases: Array<[string, string, number]> = [
  ['typical message', typical(), 200_000],
  ['1 MiB, realistic', realistic(MIB), 40],
  ['1 MiB, one string', `{"data":"${'x'.repeat(MIB - 12)}"}`, 40],
  ['1 MiB, nested 524,288 deep', '['.repeat(MIB / 2) + ']'.repeat(MIB / 2), 40],
]
console.log(
  '| payload | bytes | depth | scan of the bytes (MQTT, HTTP) µs | scan of the string (WebSocket) µs | decode + JSON.parse µs | bytes scan / parse |',
)
console.log('| ------- | ----: | ----: | ----: | ----: | ----: | ----: |')
for (const [name, text, n] of cases) {
  const bytes = Buffer.from(text)
  const scanBytes = time(() => jsonDepth(bytes), n)
  const scanString = time(() => jsonDepth(text), n)
  const deep = name.includes('nested')
  const parse = deep ? Number.NaN : time(() => JSON.parse(bytes.toString('utf8')), n)
  const ratio = deep ? 'not parsed' : `${((scanBytes / parse) * 100).toFixed(0)} %`
  const cells = [name, bytes.length, jsonDepth(text), scanBytes.toFixed(2), scanString.toFixed(2)]
  console.log(`| ${cells.join(' | ')} | ${deep ? '–' : parse.toFixed(2)} | ${ratio} |`)
}
console.log(`\nNode ${process.version}`)
