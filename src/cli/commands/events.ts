import { createError } from '../../errors.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'
import {
  authHint,
  CLIENT_HELP,
  CLIENT_OPTIONS,
  parseTimeout,
  resolveBaseUrl,
  resolveTokenSource,
} from '../web-client.ts'

const HELP = `Usage: bundlegate events <pattern>... [options]

Prints the gateway's push channel (GET /api/v1/events, Server-Sent Events) as it happens: every event a bundle
publishes on a resource matching one of the patterns ("+" one level, "#" everything below), and the gateway's own
events (/bundles/<name>; /tokens/<id> for the admin token). One line per event:

  2026-11-26T01:02:03.456Z PUT /example 200 {"key":"v2"}

When the connection drops, it reconnects (after 0.5 s, doubling up to 10 s) and resumes with Last-Event-ID, so no
event is missed while the gateway keeps it (events.replayEvents); a "gap" notice on stderr says when some were lost.
An answer that may change by waiting (429, or 5xx such as 503 "too many event clients" or a gateway stopping) is
retried the same way, after Retry-After when the answer gives one, on the first connection too; any other answer
(400 bad pattern, 401/403 token, 404…) is printed and the command exits 1. Stops on Ctrl-C, or after --count events.

  bundlegate events /example
  bundlegate events '/network/+' '/bundles/#' --json

Options:
  --count <n>             exit after n events
${CLIENT_HELP.replace('how long to wait for the answer', 'how long to wait for each connection')}`

const FIRST_RETRY_MS = 500
const MAX_RETRY_MS = 10_000
/** A longer Retry-After is cut to this: the command keeps trying at least every five minutes. */
const MAX_RETRY_AFTER_MS = 300_000

/** Whether an HTTP status may change by waiting: 429 (rate limited) and any 5xx (overloaded, stopping, proxy). */
function retryable(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599)
}

/** The wait a `Retry-After` header asks for (seconds or an HTTP date), capped; undefined when absent or unreadable. */
function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined
  const text = header.trim()
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now
  if (Number.isNaN(ms)) return undefined
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS)
}

/** One parsed SSE message. */
interface SseMessage {
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

/** The human line of an event: time, METHOD, resource, code, compact data. */
function humanLine(json: string): string {
  try {
    const e = JSON.parse(json) as {
      time?: string
      method?: string
      resource?: string
      code?: unknown
      data?: unknown
    }
    return `${e.time ?? '-'} ${String(e.method ?? '-').toUpperCase()} ${e.resource ?? '-'} ${e.code ?? '-'} ${JSON.stringify(e.data ?? null)}`
  } catch {
    return json
  }
}

/** `bundlegate events /example`. */
export async function eventsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    count: { type: 'string' },
    ...CLIENT_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length === 0)
    throw createError('GW_ERR_CLI_USAGE', [`give at least one pattern\n\n${HELP}`])
  for (const p of positionals)
    if (!p.startsWith('/')) throw createError('GW_ERR_CLI_USAGE', [`a pattern starts with "/", got "${p}"`])
  let count = Number.POSITIVE_INFINITY
  if (values.count !== undefined) {
    if (!/^\d+$/.test(values.count) || Number(values.count) <= 0)
      throw createError('GW_ERR_CLI_USAGE', [`--count must be a positive integer, got "${values.count}"`])
    count = Number(values.count)
  }
  const base = resolveBaseUrl(values.url)
  const connectTimeoutMs = parseTimeout(values.timeout)
  const source = await resolveTokenSource(values)
  const { token } = source
  const json = values.json ?? false
  const url = `${base}/api/v1/events?${positionals.map((p) => `resource=${encodeURIComponent(p)}`).join('&')}`

  let printed = 0
  let lastId: string | undefined
  let retryMs = FIRST_RETRY_MS
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  try {
    while (!stop.signal.aborted) {
      const headers: Record<string, string> = { accept: 'text/event-stream' }
      if (token !== undefined) headers['mx-api-token'] = token
      if (lastId !== undefined) headers['last-event-id'] = lastId
      const attempt = new AbortController()
      const abortAttempt = () => attempt.abort()
      stop.signal.addEventListener('abort', abortAttempt, { once: true })
      const connectTimer = setTimeout(abortAttempt, connectTimeoutMs)
      let problem: string
      let waitMs = retryMs
      try {
        const res = await fetch(url, { headers, signal: attempt.signal, redirect: 'manual' })
        clearTimeout(connectTimer)
        if (res.status === 200 && res.body) {
          retryMs = FIRST_RETRY_MS
          waitMs = retryMs
          const parser = new SseParser()
          const decoder = new TextDecoder()
          for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
            for (const m of parser.push(decoder.decode(chunk, { stream: true }))) {
              if (m.id !== undefined) lastId = m.id
              if (m.event === 'gap') {
                line(
                  io.err,
                  `bundlegate: some events were lost (not kept by the gateway any more): ${m.data}`,
                )
                continue
              }
              if (m.event !== 'message') continue
              line(io.out, json ? m.data : humanLine(m.data))
              if (++printed >= count) return 0
            }
          }
          problem = 'the gateway closed the stream'
        } else {
          const answer = `${res.status} ${res.statusText} ${(await res.text()).trim()}`.trimEnd()
          // a bad token or pattern will not change by retrying (exit 1); a busy or stopping gateway may
          if (!retryable(res.status)) {
            line(io.err, `bundlegate: ${answer}`)
            const hint = authHint(res.status, source, base)
            if (hint) line(io.err, hint)
            return 1
          }
          problem = answer
          waitMs = Math.max(retryMs, retryAfterMs(res.headers.get('retry-after')) ?? 0)
        }
      } catch (err) {
        clearTimeout(connectTimer)
        if (stop.signal.aborted) break
        const e = err as Error & { cause?: Error }
        problem =
          e.name === 'AbortError'
            ? `no answer within ${connectTimeoutMs} ms`
            : (e.cause?.message ?? e.message)
      } finally {
        stop.signal.removeEventListener('abort', abortAttempt)
        attempt.abort()
      }
      line(io.err, `bundlegate: ${problem}; reconnecting in ${waitMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs)
        stop.signal.addEventListener('abort', () => {
          clearTimeout(t)
          resolve()
        })
      })
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
    }
    return 0
  } finally {
    process.off('SIGINT', onSignal)
  }
}
