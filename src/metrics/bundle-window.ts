/** Width of one slot of the rolling window. */
export const SLOT_MS = 10_000
/** Slots kept: 15 minutes. */
export const SLOTS = 90
/** Latency buckets of the window: upper bounds in ms, doubling from 1 ms (the last one is open). */
const BOUNDS_MS: readonly number[] = Array.from({ length: 20 }, (_, i) => 2 ** i)

interface Slot {
  /** Start of the slot (ms since the epoch, a multiple of SLOT_MS); -1: empty. */
  start: number
  calls: number
  errors: number
  /** Calls per latency bucket (BOUNDS_MS, then one for anything longer). */
  buckets: Uint32Array
}

/** One bundle's numbers over the last minutes, for the console overview. */
export interface BundleWindowView {
  bundle: string
  calls: number
  perSecond: number
  errors: number
  /** errors / calls; 0 without calls. */
  errorRate: number
  /** Upper bound of the latency bucket holding the median (ms); null without calls. */
  p50Ms: number | null
  p99Ms: number | null
}

/**
 * Per-bundle calls, errors and a latency histogram in 10 s slots over the last 15 minutes: the console's live
 * overview (issue 17, item 4), kept by the gateway itself. Recording is a few array writes; the view is computed
 * only when asked. Percentiles are bucket upper bounds (doubling from 1 ms), so they are at most a factor 2 high.
 */
export class BundleWindows {
  readonly #bundles = new Map<string, Slot[]>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** One finished call of `bundle` (already bounded by the label cap). */
  record(bundle: string, ms: number, error: boolean): void {
    let slots = this.#bundles.get(bundle)
    if (!slots) {
      slots = Array.from({ length: SLOTS }, () => ({
        start: -1,
        calls: 0,
        errors: 0,
        buckets: new Uint32Array(BOUNDS_MS.length + 1),
      }))
      this.#bundles.set(bundle, slots)
    }
    const start = Math.floor(this.#now() / SLOT_MS) * SLOT_MS
    const slot = slots[(start / SLOT_MS) % SLOTS] as Slot
    if (slot.start !== start) {
      slot.start = start
      slot.calls = 0
      slot.errors = 0
      slot.buckets.fill(0)
    }
    slot.calls++
    if (error) slot.errors++
    let b = 0
    while (b < BOUNDS_MS.length && ms > (BOUNDS_MS[b] as number)) b++
    ;(slot.buckets as Uint32Array)[b] = ((slot.buckets as Uint32Array)[b] ?? 0) + 1
  }

  /** Every bundle's numbers over the last `minutes` (1 to 15), busiest first. */
  view(minutes: number): BundleWindowView[] {
    const span = Math.min(SLOTS, Math.max(1, Math.round((minutes * 60_000) / SLOT_MS)))
    const now = this.#now()
    const oldest = Math.floor(now / SLOT_MS) * SLOT_MS - (span - 1) * SLOT_MS
    const seconds = (now - oldest) / 1000
    const out: BundleWindowView[] = []
    for (const [bundle, slots] of this.#bundles) {
      let calls = 0
      let errors = 0
      const buckets = new Array<number>(BOUNDS_MS.length + 1).fill(0)
      for (const s of slots) {
        if (s.start < oldest) continue
        calls += s.calls
        errors += s.errors
        for (let i = 0; i < buckets.length; i++)
          buckets[i] = (buckets[i] as number) + (s.buckets[i] as number)
      }
      if (calls === 0) continue
      out.push({
        bundle,
        calls,
        perSecond: Math.round((calls / seconds) * 100) / 100,
        errors,
        errorRate: Math.round((errors / calls) * 10_000) / 10_000,
        p50Ms: quantile(buckets, calls, 0.5),
        p99Ms: quantile(buckets, calls, 0.99),
      })
    }
    return out.sort((a, b) => b.calls - a.calls)
  }
}

function quantile(buckets: readonly number[], total: number, q: number): number | null {
  if (total === 0) return null
  const rank = Math.ceil(q * total)
  let seen = 0
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i] as number
    if (seen >= rank) return BOUNDS_MS[i] ?? 2 * (BOUNDS_MS[BOUNDS_MS.length - 1] as number)
  }
  return null
}
