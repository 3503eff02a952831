import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ID_MAX, ID_MIN, IdGenerator } from '../../src/protocol/index.ts'

/** N = 2^31 − 2^20, the number of ids in the range (§8.8). */
const N = 2 ** 31 - 2 ** 20

function take(gen: IdGenerator, count: number, inFlight?: (id: number) => boolean): number[] {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(inFlight ? gen.next(inFlight) : gen.next())
  return out
}

test('[WP-58] §8.8: the id range is [1048576, 2147483647], above the Python SDK range 0 … 655350', () => {
  assert.equal(ID_MIN, 1_048_576)
  assert.equal(ID_MIN, 2 ** 20)
  assert.equal(ID_MAX, 2_147_483_647)
  assert.equal(ID_MAX, 2 ** 31 - 1)
  assert.equal(ID_MAX - ID_MIN + 1, N)
  assert.ok(ID_MIN > 655_350)
  assert.ok(Number.isSafeInteger(ID_MAX))
})

test('[WP-58] §8.8: the next id is 1048576 + ((b + c) mod N), c counting up from 0', () => {
  const cases: ReadonlyArray<readonly [number, number[]]> = [
    [0, [ID_MIN, ID_MIN + 1, ID_MIN + 2]],
    [1, [ID_MIN + 1, ID_MIN + 2, ID_MIN + 3]],
    [123_456_789, [ID_MIN + 123_456_789, ID_MIN + 123_456_790, ID_MIN + 123_456_791]],
  ]
  for (const [base, expected] of cases)
    assert.deepEqual(take(new IdGenerator(base), 3), expected, `base ${base}`)
})

test('[WP-58] §8.8: ids wrap around from 2147483647 to 1048576 (base near N)', () => {
  assert.deepEqual(take(new IdGenerator(N - 3), 6), [
    ID_MAX - 2,
    ID_MAX - 1,
    ID_MAX,
    ID_MIN,
    ID_MIN + 1,
    ID_MIN + 2,
  ])
  assert.deepEqual(take(new IdGenerator(N - 1), 3), [ID_MAX, ID_MIN, ID_MIN + 1])
})

test('[WP-58] §8.8: an id still in flight is skipped, and the counter moves past it', () => {
  const inFlight = new Set([ID_MIN, ID_MIN + 1, ID_MIN + 3])
  const gen = new IdGenerator(0)
  const isBusy = (id: number) => inFlight.has(id)
  assert.deepEqual(take(gen, 3, isBusy), [ID_MIN + 2, ID_MIN + 4, ID_MIN + 5])

  // Skipping across the end of the range.
  const atEnd = new IdGenerator(N - 2)
  const busy = new Set([ID_MAX - 1, ID_MAX, ID_MIN])
  assert.deepEqual(
    take(atEnd, 2, (id) => busy.has(id)),
    [ID_MIN + 1, ID_MIN + 2],
  )
})

test('[WP-58] §8.8: ids are never reused while in flight, and never 0 or out of range', () => {
  for (const base of [0, 1, N - 50, N - 1, Math.floor(N / 2)]) {
    const gen = new IdGenerator(base)
    const inFlight = new Set<number>()
    for (let i = 0; i < 200; i++) {
      const id = gen.next((candidate) => inFlight.has(candidate))
      assert.ok(Number.isInteger(id), `base ${base}: ${id}`)
      assert.ok(id >= ID_MIN && id <= ID_MAX, `base ${base}: ${id}`)
      assert.notEqual(id, 0)
      assert.ok(!inFlight.has(id), `base ${base}: ${id} reused while in flight`)
      inFlight.add(id)
      // Settle some requests so that settled ids and in-flight ones mix.
      if (i % 3 === 0) inFlight.delete(id)
    }
  }
})

test('[WP-58] §8.8: a generator with a CSPRNG base draws ids in the range', () => {
  for (let g = 0; g < 20; g++) {
    const gen = new IdGenerator()
    const first = gen.next()
    assert.ok(first >= ID_MIN && first <= ID_MAX, String(first))
    // Consecutive draws follow the counter, wrapping at the end of the range.
    const second = gen.next()
    assert.equal(second, first === ID_MAX ? ID_MIN : first + 1)
  }
})
