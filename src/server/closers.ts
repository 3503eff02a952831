/**
 * The shutdown of a gateway: what {@link startGateway} opened, closed in the reverse order (the web service first,
 * the token store last), on a failed start and by `Gateway.close()`.
 * @module
 */

/** A close step: a store's close(), a listener's close(), … */
export type Close = () => Promise<void> | void

/** The close steps of what was opened so far; closeAll() runs them once, last opened first. */
export class Closers {
  readonly #opened: Close[] = []
  #closed: Promise<void> | undefined

  /** Registers the close step of something just opened. */
  add(close: Close): void {
    this.#opened.push(close)
  }

  /** Closes everything, last opened first, one after the other. Idempotent. */
  closeAll(): Promise<void> {
    this.#closed ??= (async () => {
      for (const close of this.#opened.reverse()) await close()
    })()
    return this.#closed
  }
}
