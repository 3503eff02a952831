import type { PushEvent } from './push-event.ts'

/** `make`, computed once per event however many clients it goes to (the cache lets go with the event). */
export function frameCache(make: (event: PushEvent) => string): (event: PushEvent) => string {
  const frames = new WeakMap<PushEvent, string>()
  return (event) => {
    let frame = frames.get(event)
    if (frame === undefined) {
      frame = make(event)
      frames.set(event, frame)
    }
    return frame
  }
}
