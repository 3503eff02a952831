/**
 * The shape of a load driver: something that can keep one request in flight per slot.
 * @module
 */

/** Called once per request: no argument on success, else a short failure kind (`http-503`, `socket`, `body`…). */
export type Done = (failure?: string) => void

export interface Driver {
  /** Connects everything the slots need (before the warm-up starts). */
  open(slots: number): Promise<void>
  /** Sends one request on `slot`; `done` is called exactly once, never synchronously. */
  issue(slot: number, done: Done): void
  /** Forgets the request in flight on `slot` (it timed out): its `done` must not be called any more. */
  reset(slot: number): void
  close(): Promise<void>
}
