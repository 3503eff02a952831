import { createError } from '../../errors.ts'
import { parse } from '../args.ts'
import { followEvents } from '../follow-events.ts'
import { type CliIo, line } from '../io.ts'
import {
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
  const json = values.json ?? false
  const url = `${base}/api/v1/events?${positionals.map((p) => `resource=${encodeURIComponent(p)}`).join('&')}`
  return followEvents({ url, base, source, json, count, connectTimeoutMs }, io)
}
