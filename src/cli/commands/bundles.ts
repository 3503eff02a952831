import { createError } from '../../errors.ts'
import type { BundleView } from '../../gateway/index.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'
import { printTable } from '../table.ts'
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

const HELP = `Usage: bundlegate bundles [options]

Lists the components registered with the gateway's controller (GET /api/v1/bundles): name, role, online or
offline, ttl, resources with their methods ("-" when the bundle did not declare them, as original Python bundles
do not) and when it registered (UTC).

Options:
${CLIENT_HELP}`

/** `bundlegate bundles`. */
export async function bundlesCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, { ...CLIENT_OPTIONS, help: { type: 'boolean', short: 'h' } })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length > 0)
    throw createError('GW_ERR_CLI_USAGE', [`unexpected argument "${positionals[0]}"\n\n${HELP}`])
  const base = resolveBaseUrl(values.url)
  const timeoutMs = parseTimeout(values.timeout)
  const source = await resolveTokenSource(values)
  const { token } = source
  const res = await callApi(base, 'GET', '/bundles', { token, timeoutMs })
  if (values.json || exitCodeOf(res) !== 0 || !Array.isArray(res.body)) {
    printResponse(io, res, values.json ?? false)
    const hint = authHint(res.status, source, base)
    if (hint) line(io.err, hint)
    return exitCodeOf(res)
  }
  printBundles(io, res.body as BundleView[])
  return 0
}

function printBundles(io: CliIo, bundles: BundleView[]): void {
  if (bundles.length === 0) {
    line(io.out, 'No bundles registered.')
    return
  }
  const rows: string[][] = [['NAME', 'ROLE', 'STATE', 'TTL', 'RESOURCES', 'REGISTERED']]
  for (const b of bundles) {
    const resources = b.resources.map((r) => `${r.resource} ${r.methods ? r.methods.join(',') : '-'}`)
    rows.push([
      b.name,
      b.role,
      b.online ? 'online' : 'offline',
      `${b.ttl}s`,
      resources[0] ?? '-',
      b.registeredAt.slice(0, 19).replace('T', ' '),
    ])
    // one line per further resource, under the first
    for (const r of resources.slice(1)) rows.push(['', '', '', '', r, ''])
  }
  printTable(io, rows)
}
