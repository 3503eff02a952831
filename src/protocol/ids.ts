import { randomInt } from 'node:crypto'

/** Ids of our web service and SDK live in [2^20, 2^31−1] (wire-protocol.md §8.8) [WP-58]. */
export const ID_MIN = 1_048_576
export const ID_MAX = 2_147_483_647
const ID_SPAN = ID_MAX - ID_MIN + 1 // N = 2^31 − 2^20

/**
 * Draws request ids per §8.8: a CSPRNG base b in [0, N) at creation, then `ID_MIN + ((b + c) mod N)` with c
 * counting up; a candidate still in flight (per `inFlight`) is skipped.
 */
export class IdGenerator {
  #base: number
  #count = 0

  constructor(base: number = randomInt(0, ID_SPAN)) {
    this.#base = base
  }

  next(inFlight: (id: number) => boolean = () => false): number {
    for (let tries = 0; tries < ID_SPAN; tries++) {
      const id = ID_MIN + ((this.#base + this.#count) % ID_SPAN)
      this.#count = (this.#count + 1) % ID_SPAN
      if (!inFlight(id)) return id
    }
    throw new Error('every request id is in flight')
  }
}
