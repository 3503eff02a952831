/** The label value that stands for every label set past the cap. */
export const OTHER = 'other'

/**
 * A bounded set of label keys: the first `limit` distinct keys pass, every later one becomes {@link OTHER}, so a
 * metric never holds more than `limit + 1` series for the labels it guards, whatever the traffic (docs/observability.md,
 * Cardinality). `reset` forgets the keys (the registry changed).
 */
export class LabelCap {
  readonly #limit: number
  readonly #seen = new Set<string>()
  /** Keys refused since the start (for the `bundlegate_metrics_label_overflow_total` counter). */
  overflow = 0

  constructor(limit: number) {
    this.#limit = limit
  }

  /** `key` when it is known or there is room, else {@link OTHER}. */
  admit(key: string): string {
    if (this.#seen.has(key)) return key
    if (this.#seen.size >= this.#limit) {
      this.overflow++
      return OTHER
    }
    this.#seen.add(key)
    return key
  }

  get size(): number {
    return this.#seen.size
  }
}
