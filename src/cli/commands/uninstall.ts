import { createError } from '../../errors.ts'
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

const HELP = `Usage: bundlegate uninstall <name> [--purge] [options]

Uninstalls a bundle the gateway's bundle manager installed (DELETE /api/v1/bundles/<name>, admin token): stops it,
revokes its API token and broker credentials, removes its code. Its data directory is kept (a reinstall finds it
again) unless --purge.

Options:
  --purge                 also remove its data directory
${CLIENT_HELP}`

/** `bundlegate uninstall <name> [--purge]`. */
export async function uninstallCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    purge: { type: 'boolean' },
    ...CLIENT_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length !== 1) throw createError('GW_ERR_CLI_USAGE', [`give one bundle name\n\n${HELP}`])
  const name = positionals[0] as string
  const base = resolveBaseUrl(values.url)
  const source = await resolveTokenSource(values)
  const q = values.purge ? '?purge=true' : ''
  const res = await callApi(base, 'DELETE', `/bundles/${encodeURIComponent(name)}${q}`, {
    token: source.token,
    timeoutMs: parseTimeout(values.timeout),
  })
  if (exitCodeOf(res) !== 0 || values.json) {
    printResponse(io, res, values.json ?? false)
    const hint = authHint(res.status, source, base)
    if (hint) line(io.err, hint)
    return exitCodeOf(res)
  }
  line(io.out, `uninstalled ${name}${values.purge ? ' (data removed)' : ' (data kept)'}`)
  return 0
}
