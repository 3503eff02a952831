/**
 * Deep freezing, the one copy every area uses (the loaded configuration, a bundle's manifest).
 * @module
 */

/**
 * Freezes `value` and everything reachable from it (own enumerable properties, arrays included), children first;
 * cycles are safe. Returns `value`.
 */
export function deepFreeze<T>(value: T, seen: WeakSet<object> = new WeakSet()): T {
  if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value)
    for (const v of Object.values(value)) deepFreeze(v, seen)
    Object.freeze(value)
  }
  return value
}
