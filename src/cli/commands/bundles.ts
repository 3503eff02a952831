import { createError } from '../../errors.ts'
import type { ManagedBundleView } from '../../web/index.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'
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
import { describeManaged, printBundles, printStatus } from './bundles-table.ts'

const HELP = `Usage: bundlegate bundles [<start|stop|restart|enable|disable|rollback|status> <name>] [options]

Without a subcommand: lists the bundles (GET /api/v1/bundles): every component registered with the gateway's
controller (name, role, online or offline, ttl, resources with their methods, "-" when the bundle did not declare
them, as original Python bundles do not, and when it registered, UTC) and every bundle the gateway's bundle manager
installed, with its state (installed, starting, running, stopping, stopped, backoff, broken), version, restarts,
uptime and memory.

Subcommands (admin token; the bundle manager's bundles only):
  start <name>            start it (also re-arms a broken one)
  stop <name>             stop it (SIGTERM, then SIGKILL); it stays stopped until started
  restart <name>          stop, then start
  enable <name>           start it at every gateway start
  disable <name>          do not start it at gateway start
  rollback <name>         switch back to the version the last upgrade replaced
  status <name>           its state, version, pid, uptime, restarts, last exit, memory, next start

Options:
${CLIENT_HELP}`

const VERBS = new Set(['start', 'stop', 'restart', 'enable', 'disable', 'rollback'])

/** `bundlegate bundles [<verb> <name>]`. */
export async function bundlesCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...CLIENT_OPTIONS, help: { type: 'boolean', short: 'h' } })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  const [sub, name, ...extra] = positionals
  if (sub !== undefined && !VERBS.has(sub) && sub !== 'status')
    throw createError('GW_ERR_CLI_USAGE', [`unknown subcommand "${sub}"\n\n${HELP}`])
  if (sub !== undefined && (name === undefined || extra.length > 0))
    throw createError('GW_ERR_CLI_USAGE', [`"bundles ${sub}" takes one bundle name\n\n${HELP}`])
  const base = resolveBaseUrl(values.url)
  const timeoutMs = parseTimeout(values.timeout)
  const source = await resolveTokenSource(values)
  const { token } = source
  const path = sub === undefined ? '/bundles' : `/bundles/${encodeURIComponent(name as string)}`
  const res =
    sub === undefined || sub === 'status'
      ? await callApi(base, 'GET', path, { token, timeoutMs })
      : await callApi(base, 'POST', `${path}/${sub}`, { token, timeoutMs })
  const expected =
    sub === undefined ? Array.isArray(res.body) : typeof res.body === 'object' && res.body !== null
  if (values.json || exitCodeOf(res) !== 0 || !expected) {
    printResponse(io, res, values.json ?? false)
    const hint = authHint(res.status, source, base)
    if (hint) line(io.err, hint)
    return exitCodeOf(res)
  }
  if (sub === undefined) printBundles(io, res.body as ManagedBundleView[])
  else if (sub === 'status') printStatus(io, res.body as ManagedBundleView)
  else {
    const managed = (res.body as ManagedBundleView).managed
    line(io.out, managed ? describeManaged(managed) : `${sub}: ${res.status} ${res.reason}`)
  }
  return 0
}
