import { createError } from '../../errors.ts'
import type { LogLine } from '../../manager/index.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'
import { SseParser } from '../sse-parser.ts'
import {
  authHint,
  CLIENT_HELP,
  CLIENT_OPTIONS,
  callApi,
  exitCodeOf,
  parseTimeout,
  printResponse,
  resolveBaseUrl,
  resolveTokenSource,
} from '../web-client.ts'

const HELP = `Usage: bundlegate logs <name> [-n N] [-f] [options]

Prints the log of a bundle the gateway's bundle manager runs (GET /api/v1/bundles/<name>/logs, admin token): what
it wrote on stdout and stderr, and the manager's own lines about it (started, exited, restarted, rolled back), one
per line with time and stream:

  2026-12-04T21:40:01.123Z stdout example: registered /example

Options:
  -n, --lines <N>         the last N lines (default 100, at most 10000)
  -f, --follow            then keep printing new lines as they come, until Ctrl-C
${CLIENT_HELP.replace('how long to wait for the answer', 'how long to wait for the answer (the first one with -f)')}`

const text = (l: LogLine) => `${l.at} ${l.stream} ${l.line}`

/** `bundlegate logs <name> [-n N] [-f]`. */
export async function logsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    lines: { type: 'string', short: 'n' },
    follow: { type: 'boolean', short: 'f' },
    ...CLIENT_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length !== 1) throw createError('GW_ERR_CLI_USAGE', [`give one bundle name\n\n${HELP}`])
  const n = values.lines ?? '100'
  if (!/^\d{1,9}$/.test(n)) throw createError('GW_ERR_CLI_USAGE', [`-n must be a whole number, got "${n}"`])
  const name = positionals[0] as string
  const base = resolveBaseUrl(values.url)
  const timeoutMs = parseTimeout(values.timeout)
  const source = await resolveTokenSource(values)
  const path = `/bundles/${encodeURIComponent(name)}/logs?tail=${n}`
  if (values.follow)
    return follow(io, `${base}/api/v1${path}&follow=true`, source, base, timeoutMs, values.json)
  const res = await callApi(base, 'GET', path, { token: source.token, timeoutMs })
  const body = res.body as { lines?: LogLine[]; dropped?: number } | undefined
  if (exitCodeOf(res) !== 0 || !Array.isArray(body?.lines)) {
    printResponse(io, res, values.json ?? false)
    const hint = authHint(res.status, source, base)
    if (hint) line(io.err, hint)
    return exitCodeOf(res) || 1
  }
  for (const l of body.lines) line(io.out, values.json ? JSON.stringify(l) : text(l))
  if (body.dropped) line(io.err, `bundlegate: ${body.dropped} lines were dropped by the log rate cap`)
  return 0
}

/** The follow stream until Ctrl-C (exit 0) or the gateway ends it (exit 1). */
async function follow(
  io: CliIo,
  url: string,
  source: Awaited<ReturnType<typeof resolveTokenSource>>,
  base: string,
  timeoutMs: number,
  json: boolean | undefined,
): Promise<number> {
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGINT', onSignal)
  let timedOut = false
  const connectTimer = setTimeout(() => {
    timedOut = true
    stop.abort()
  }, timeoutMs)
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (source.token !== undefined) headers['mx-api-token'] = source.token
  try {
    const res = await fetch(url, { headers, signal: stop.signal, redirect: 'manual' })
    clearTimeout(connectTimer)
    if (res.status !== 200 || !res.body) {
      line(io.err, `bundlegate: ${res.status} ${res.statusText} ${(await res.text()).trim()}`.trimEnd())
      const hint = authHint(res.status, source, base)
      if (hint) line(io.err, hint)
      return 1
    }
    const parser = new SseParser()
    const decoder = new TextDecoder()
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      for (const m of parser.push(decoder.decode(chunk, { stream: true }))) {
        if (m.event !== 'log') continue
        line(io.out, json ? m.data : text(JSON.parse(m.data) as LogLine))
      }
    }
    line(io.err, 'bundlegate: the gateway closed the log stream')
    return 1
  } catch (err) {
    if (stop.signal.aborted && !timedOut) return 0
    const e = err as Error & { cause?: Error }
    const reason = timedOut ? `no answer within ${timeoutMs} ms` : (e.cause?.message ?? e.message)
    throw createError('GW_ERR_CLI_HTTP', [base, reason], { cause: err })
  } finally {
    clearTimeout(connectTimer)
    process.off('SIGINT', onSignal)
  }
}
