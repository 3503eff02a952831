/**
 * Operations that run one after the other per key (a bundle's name), in the order they were asked for; a failure
 * does not stop the ones after it.
 * @module
 */

export class KeyedSerial {
  readonly #tails = new Map<string, Promise<unknown>>()

  /** Runs `fn` after every earlier operation on `key`. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve()
    const result = before.then(fn, fn)
    const tail = result.catch(() => {})
    this.#tails.set(key, tail)
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return result
  }
}
