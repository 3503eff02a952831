/**
 * A small log-linear latency histogram (values in microseconds): exact below 128 µs, then 128 buckets per power of
 * two (relative error below 0.8 %). Histograms of several load-generator runs merge by adding their counts.
 * @module
 */

const SUB_BITS = 7
const SUB = 1 << SUB_BITS // 128
const OCTAVES = 40

/** The serialised form: sparse [bucket, count] pairs plus exact count, min, max and sum. */
export interface HistogramJson {
  buckets: Array<[number, number]>
  count: number
  minUs: number
  maxUs: number
  sumUs: number
}

export class Histogram {
  readonly #counts = new Float64Array(SUB + OCTAVES * SUB)
  count = 0
  minUs = Number.POSITIVE_INFINITY
  maxUs = 0
  sumUs = 0

  /** Records one value in microseconds. */
  record(us: number): void {
    const v = Math.max(us, 0)
    this.#counts[indexOf(v)]! += 1
    this.count++
    this.sumUs += v
    if (v < this.minUs) this.minUs = v
    if (v > this.maxUs) this.maxUs = v
  }

  /** The value at percentile `p` (0–100), in microseconds (the middle of its bucket, clamped to min/max). */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, middleOf(i)))
    }
    return this.maxUs
  }

  get meanUs(): number {
    return this.count === 0 ? Number.NaN : this.sumUs / this.count
  }

  merge(other: Histogram | HistogramJson): this {
    const json = other instanceof Histogram ? other.toJSON() : other
    for (const [i, n] of json.buckets) this.#counts[i]! += n
    this.count += json.count
    this.sumUs += json.sumUs
    if (json.count > 0) {
      this.minUs = Math.min(this.minUs, json.minUs)
      this.maxUs = Math.max(this.maxUs, json.maxUs)
    }
    return this
  }

  toJSON(): HistogramJson {
    const buckets: Array<[number, number]> = []
    for (let i = 0; i < this.#counts.length; i++) {
      const n = this.#counts[i]!
      if (n > 0) buckets.push([i, n])
    }
    return {
      buckets,
      count: this.count,
      minUs: this.count ? this.minUs : 0,
      maxUs: this.maxUs,
      sumUs: this.sumUs,
    }
  }

  static from(json: HistogramJson): Histogram {
    return new Histogram().merge(json)
  }
}

function indexOf(v: number): number {
  if (v < SUB) return Math.floor(v)
  const exp = Math.min(OCTAVES - 1, Math.floor(Math.log2(v)) - SUB_BITS)
  const sub = Math.min(2 * SUB - 1, Math.floor(v / 2 ** exp))
  return SUB + exp * SUB + (sub - SUB)
}

function middleOf(i: number): number {
  if (i < SUB) return i + 0.5
  const exp = Math.floor((i - SUB) / SUB)
  const sub = ((i - SUB) % SUB) + SUB
  return (sub + 0.5) * 2 ** exp
}
