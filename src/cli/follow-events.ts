/**
 * The loop of `bundlegate events`: one SSE connection after another, resuming with Last-Event-ID, waiting 0.5 s
 * doubling to 10 s (or what Retry-After asks) between them, until Ctrl-C, `--count` events, or an answer that
 * waiting will not change.
 * @module
 */
import { type CliIo, line } from './io.ts'
import { SseParser } from './sse-parser.ts'
import { authHint, type ResolvedToken } from './web-client.ts'

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

/** What the loop follows, from the command line. */
export interface FollowTarget {
  /** `<base>/api/v1/events?resource=…`. */
  url: string
  base: string
  source: ResolvedToken
  /** Print the events' JSON as it comes rather than the human line. */
  json: boolean
  /** Exit 0 after this many events. */
  count: number
  connectTimeoutMs: number
}

/** What one connection left the loop with. */
type AttemptEnd =
  | { exit: number }
  | { aborted: true }
  | { problem: string; waitMs: number; connected: boolean }

/** Where the loop is: what was printed and the id to resume from. */
interface Progress {
  printed: number
  lastId: string | undefined
}

/** Follows the events until Ctrl-C (exit 0), `count` events (0), or an answer not worth retrying (1). */
export async function followEvents(target: FollowTarget, io: CliIo): Promise<number> {
  const progress: Progress = { printed: 0, lastId: undefined }
  let retryMs = FIRST_RETRY_MS
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  try {
    while (!stop.signal.aborted) {
      const end = await connectOnce(target, io, progress, stop.signal, retryMs)
      if ('exit' in end) return end.exit
      if ('aborted' in end) break
      if (end.connected) retryMs = FIRST_RETRY_MS
      line(io.err, `bundlegate: ${end.problem}; reconnecting in ${end.waitMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, end.waitMs)
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

/** One connection: reads its events until it ends, fails, or the command is done. */
async function connectOnce(
  target: FollowTarget,
  io: CliIo,
  progress: Progress,
  stop: AbortSignal,
  retryMs: number,
): Promise<AttemptEnd> {
  const { token } = target.source
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (token !== undefined) headers['mx-api-token'] = token
  if (progress.lastId !== undefined) headers['last-event-id'] = progress.lastId
  const attempt = new AbortController()
  const abortAttempt = () => attempt.abort()
  stop.addEventListener('abort', abortAttempt, { once: true })
  const connectTimer = setTimeout(abortAttempt, target.connectTimeoutMs)
  let connected = false
  try {
    const res = await fetch(target.url, { headers, signal: attempt.signal, redirect: 'manual' })
    clearTimeout(connectTimer)
    if (res.status === 200 && res.body) {
      connected = true
      return (
        (await readEvents(res.body, target, io, progress)) ?? {
          problem: 'the gateway closed the stream',
          waitMs: FIRST_RETRY_MS,
          connected,
        }
      )
    }
    const answer = `${res.status} ${res.statusText} ${(await res.text()).trim()}`.trimEnd()
    // a bad token or pattern will not change by retrying (exit 1); a busy or stopping gateway may
    if (!retryable(res.status)) {
      line(io.err, `bundlegate: ${answer}`)
      const hint = authHint(res.status, target.source, target.base)
      if (hint) line(io.err, hint)
      return { exit: 1 }
    }
    const waitMs = Math.max(retryMs, retryAfterMs(res.headers.get('retry-after')) ?? 0)
    return { problem: answer, waitMs, connected }
  } catch (err) {
    clearTimeout(connectTimer)
    if (stop.aborted) return { aborted: true }
    const e = err as Error & { cause?: Error }
    const problem =
      e.name === 'AbortError'
        ? `no answer within ${target.connectTimeoutMs} ms`
        : (e.cause?.message ?? e.message)
    return { problem, waitMs: connected ? FIRST_RETRY_MS : retryMs, connected }
  } finally {
    stop.removeEventListener('abort', abortAttempt)
    attempt.abort()
  }
}

/** Prints the events of an open stream; `{ exit: 0 }` once `count` were printed, `undefined` when it ends. */
async function readEvents(
  body: ReadableStream<Uint8Array>,
  target: FollowTarget,
  io: CliIo,
  progress: Progress,
): Promise<{ exit: number } | undefined> {
  const parser = new SseParser()
  const decoder = new TextDecoder()
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    for (const m of parser.push(decoder.decode(chunk, { stream: true }))) {
      if (m.id !== undefined) progress.lastId = m.id
      if (m.event === 'gap') {
        line(io.err, `bundlegate: some events were lost (not kept by the gateway any more): ${m.data}`)
        continue
      }
      if (m.event !== 'message') continue
      line(io.out, target.json ? m.data : humanLine(m.data))
      if (++progress.printed >= target.count) return { exit: 0 }
    }
  }
  return undefined
}
