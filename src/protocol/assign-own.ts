/**
 * Copying keys of parsed JSON without prototype pollution. JSON.parse makes every key an own property, `__proto__`
 * and `constructor` included; `Object.assign` and `target[key] = value` would instead run the `__proto__` setter
 * (changing the target's prototype and losing the key). These define own data properties, as JSON.parse does.
 * @module
 */

/** Sets `key` on `target` as an own, enumerable data property, whatever the key. */
export function setOwn<T extends object>(target: T, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** `Object.assign(target, source)` for parsed JSON: every own enumerable key of `source` copied as an own property. */
export function assignOwn<T extends object>(target: T, source: object): T {
  for (const key of Object.keys(source)) setOwn(target, key, (source as Record<string, unknown>)[key])
  return target
}
