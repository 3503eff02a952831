import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parsePrometheusText } from '../helpers/prom-text.ts'

// The strict parser the metrics tests rely on must itself refuse what Prometheus refuses.
test('the text-format parser of the tests accepts a valid exposition and refuses broken ones', () => {
  const good = [
    '# HELP a_total Things.',
    '# TYPE a_total counter',
    'a_total{x="1",y="q\\"uote\\\\d\\n"} 3',
    'a_total{x="2"} 1e3 1700000000000',
    '# TYPE h histogram',
    'h_bucket{le="0.1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 0.5',
    'h_count 2',
    'g Nan',
    '',
  ].join('\n')
  const f = parsePrometheusText(good)
  assert.equal(f.get('a_total')?.samples[0]?.labels.y, 'q"uote\\d\n')
  assert.equal(f.get('a_total')?.samples[1]?.value, 1000)
  assert.ok(Number.isNaN(f.get('g')?.samples[0]?.value))
  const bad: Record<string, string> = {
    'no final line feed': 'a 1',
    'bad metric name': '1a 1\n',
    'bad value': 'a one\n',
    'bad escape': 'a{x="\\t"} 1\n',
    'unterminated label': 'a{x="1} 1\n',
    'duplicate series': 'a{x="1"} 1\na{x="1"} 2\n',
    'TYPE after samples': 'a 1\n# TYPE a counter\n',
    'family split': '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="2"} 1\n',
    'buckets not cumulative':
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    'no +Inf bucket': '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    '+Inf is not count': '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n',
  }
  for (const [why, text] of Object.entries(bad)) assert.throws(() => parsePrometheusText(text), Error, why)
})
