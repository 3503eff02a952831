import { assignOwn, type Envelope, isObject, type JsonObject } from '../protocol/index.ts'

/**
 * The hook message for step k ≥ 2 (wire-protocol.md §5.4) [WP-31]. `results` are the session's responses in
 * arrival order; the last one (R) completed the previous step. When R.data is an object, it is the start and every
 * earlier object result is copied over it in arrival order (earlier responders win over R); the merged object
 * replaces R's entry in `results`. The message is R without `code`: id, method, resource, sign and extra keys kept.
 */
export function hookMessage(results: Envelope[]): Envelope {
  const last = results.length - 1
  const r = results[last]!
  const out: Envelope = { ...r }
  delete out.code
  if (isObject(r.data) && last > 0) {
    const merged: JsonObject = { ...r.data }
    for (let i = 0; i < last; i++) {
      const d = results[i]!.data
      if (isObject(d)) assignOwn(merged, d)
    }
    out.data = merged
    results[last] = { ...r, data: merged }
  }
  return out
}

/**
 * The messages are the controller's own parsed objects, never mutated after they are built, so copies are shallow:
 * nothing is cloned on the hot path, and a merge nests no deeper than its deepest input (the §8.9 depth budget holds).
 * Keys are copied as own properties (`assignOwn`): a `__proto__` key is data, never the merged object's prototype.
 */

/**
 * The final answer (§5.5) [WP-32]: a copy of F (the response that completed the last step) with code 200. When
 * F.data is an object, every object result is copied over it in arrival order, F's own entry last (later responders
 * win). Non-object data from F disables the merge.
 */
export function finalAnswer(results: Envelope[]): Envelope {
  const last = results.length - 1
  const f = results[last]!
  const out: Envelope = { ...f, code: 200 }
  if (isObject(f.data) && last > 0) {
    const merged: JsonObject = {}
    for (let i = 0; i < last; i++) {
      const d = results[i]!.data
      if (isObject(d)) assignOwn(merged, d)
    }
    assignOwn(merged, f.data)
    out.data = merged
  }
  return out
}
