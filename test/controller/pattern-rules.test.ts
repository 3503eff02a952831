import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { firstLevel, type PatternRule, patternRefusal } from '../../src/controller/index.ts'
import { RegistrationBudget, UNLIMITED } from '../../src/controller/registration-limits.ts'

/** [pattern, rule for a model, rule for a view]; undefined: accepted. */
const TABLE: Array<[string, PatternRule | undefined, PatternRule | undefined]> = [
  // accepted for both
  ['/example', undefined, undefined],
  ['/network/ethernet/+', undefined, undefined],
  ['/network/#', undefined, undefined],
  ['/network#', 'first-level-wildcard', undefined],
  ['/a/+/b', undefined, undefined],
  ['/', undefined, undefined],
  ['/controllers', undefined, undefined],
  ['/apis/x', undefined, undefined],
  ['/x/controller/#', undefined, undefined],
  // catch-alls: refused for models, a view may observe
  ['/#', 'first-level-wildcard', undefined],
  ['/+', 'first-level-wildcard', undefined],
  ['/+/x', 'first-level-wildcard', undefined],
  ['/+/#', 'first-level-wildcard', undefined],
  ['/a+', 'first-level-wildcard', undefined],
  ['/c#', 'first-level-wildcard', undefined],
  // not starting with '/': refused for every role
  ['#', 'slash', 'slash'],
  ['+', 'slash', 'slash'],
  ['+/x', 'slash', 'slash'],
  ['example2', 'slash', 'slash'],
  ['', 'slash', 'slash'],
  // the controller's and the gateway's own first levels: every role
  ['/controller', 'reserved', 'reserved'],
  ['/controller/#', 'reserved', 'reserved'],
  ['/controller/registration', 'reserved', 'reserved'],
  ['/controller/registration/+', 'reserved', 'reserved'],
  ['/controller/resource/dependency', 'reserved', 'reserved'],
  ['/api', 'reserved', 'reserved'],
  ['/api/v1/x', 'reserved', 'reserved'],
  ['/api/#', 'reserved', 'reserved'],
  // control characters and length: every role
  ['/a\u0000b', 'control', 'control'],
  ['/a\nb', 'control', 'control'],
  ['/a\u007fb', 'control', 'control'],
  ['/a\u0085b', 'control', 'control'],
  [`/${'x'.repeat(1022)}`, undefined, undefined],
  [`/${'x'.repeat(1023)}`, 'length', 'length'],
]

describe('registration pattern rules (§8.2a) [WP-62]', () => {
  for (const [pattern, model, view] of TABLE) {
    const name = JSON.stringify(pattern.length > 40 ? `${pattern.slice(0, 12)}…(${pattern.length})` : pattern)
    test(`${name}: model ${model ?? 'accepted'}, view ${view ?? 'accepted'}`, () => {
      assert.equal(patternRefusal(pattern, 'model')?.rule, model)
      assert.equal(patternRefusal(pattern, 'view')?.rule, view)
      // roles other than model and view are never routed, but get the model rules (no catch-all of any kind)
      assert.equal(patternRefusal(pattern, 'other')?.rule, model)
    })
  }

  test('the log text names the pattern and the rule; control characters are shown escaped', () => {
    assert.equal(
      patternRefusal('/#', 'model')?.log,
      `'resources' entry "/#" has a wildcard in its first level: a model must name its first level`,
    )
    assert.equal(
      patternRefusal('/a\u0000b', 'view')?.log,
      `'resources' entry "/a\\u0000b" contains a control character`,
    )
    assert.equal(patternRefusal('example2', 'model')?.log, `'resources' entry "example2" must start with '/'`)
    assert.equal(
      patternRefusal(`/${'y'.repeat(2000)}`, 'model')?.log,
      "'resources' entry exceeds 1023 characters",
    )
  })

  test('firstLevel is the text between the leading / and the next one', () => {
    assert.equal(firstLevel('/a/b'), 'a')
    assert.equal(firstLevel('/a'), 'a')
    assert.equal(firstLevel('/'), '')
    assert.equal(firstLevel('//x'), '')
  })
})

describe('registration budget (§8.9) [WP-63]', () => {
  test('a token bucket per client: burst, then the refill rate; other clients are not affected', () => {
    let now = 0
    const b = new RegistrationBudget(
      { ...UNLIMITED, registrationsPerSec: 2, registrationBurst: 3 },
      () => now,
    )
    for (let i = 0; i < 3; i++) assert.equal(b.takePost('a'), undefined)
    const refused = b.takePost('a')
    assert.equal(refused?.code, 429)
    assert.match(String(refused?.data?.log), /at most 2 per second \(burst 3\)/)
    assert.equal(b.takePost('b'), undefined)
    now = 499
    assert.equal(b.takePost('a')?.code, 429)
    now = 1000
    assert.equal(b.takePost('a'), undefined)
    assert.equal(b.takePost('a'), undefined)
    assert.equal(b.takePost('a')?.code, 429)
  })

  test('components per client, in total, and resources per component and in total', () => {
    const b = new RegistrationBudget(
      {
        ...UNLIMITED,
        maxComponentsPerClient: 2,
        maxComponents: 3,
        maxResourcesPerComponent: 5,
        maxResources: 6,
      },
      () => 0,
    )
    assert.equal(b.refusal('a', 6)?.code, 400)
    b.added('a1', 'a', 1)
    b.added('a2', 'a', 1)
    const perClient = b.refusal('a', 1)
    assert.equal(perClient?.code, 429)
    assert.match(String(perClient?.data?.log), /at most 2 at once/)
    assert.equal(b.refusal('b', 4), undefined, '1 + 1 + 4 resources fit')
    assert.match(String(b.refusal('b', 5)?.data?.log), /maximum of 6 resources/)
    b.added('b1', 'b', 4)
    assert.match(String(b.refusal('c', 1)?.data?.log), /maximum of 3 components/)
    b.removed('a1')
    assert.equal(b.refusal('a', 1), undefined, 'resources 1 + 4 + 1 = 6 fit; 2 components < 3')
    assert.equal(b.refusal('a', 2)?.code, 503)
  })
})
