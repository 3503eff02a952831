/**
 * The client side of Server-Sent Events (text/event-stream): field lines split into messages, as `bundlegate
 * events` reads the gateway's push channel.
 * @module
 */

/** One parsed SSE message. */
export interface SseMessage {
  event: string
  data: string
  id: string | undefined
}

/** The field lines of the event stream (text/event-stream), split into messages. */
export class SseParser {
  #buffer = ''
  #event = ''
  #data: string[] = []
  #id: string | undefined

  /** Feeds a chunk; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    this.#buffer += chunk
    const out: SseMessage[] = []
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buffer)
      if (!m) break
      // a lone CR at the very end may be the first half of CRLF: wait for more
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) break
      const text = this.#buffer.slice(0, m.index)
      this.#buffer = this.#buffer.slice(m.index + m[0].length)
      if (text === '') {
        if (this.#data.length > 0)
          out.push({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id })
        this.#event = ''
        this.#data = []
        this.#id = undefined
        continue
      }
      if (text.startsWith(':')) continue // comment: heartbeat
      const colon = text.indexOf(':')
      const field = colon === -1 ? text : text.slice(0, colon)
      let value = colon === -1 ? '' : text.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'data') this.#data.push(value)
      else if (field === 'event') this.#event = value
      else if (field === 'id') this.#id = value
    }
    return out
  }
}
