import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { createError } from '../../errors.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'
import { packBundle } from '../pack-bundle.ts'
import { callApiStream } from '../stream-call.ts'
import {
  authHint,
  CLIENT_HELP,
  CLIENT_OPTIONS,
  exitCodeOf,
  parseTimeout,
  printResponse,
  resolveBaseUrl,
  resolveTokenSource,
} from '../web-client.ts'
import { describeManaged } from './bundles-table.ts'

const HELP = `Usage: bundlegate install <dir | file.tar.gz> [options]

Installs (or upgrades) a bundle on a running gateway: POST /api/v1/bundles with a gzip'ed tar, admin token. A
directory is packed on the fly (node_modules and dotfiles left out); a .tar.gz / .tgz file is sent as it is. The
gateway checks the manifest (every problem listed) and its resources against every other bundle (409 naming the
owner), places it and starts it unless --no-start or it is disabled. An upgrade keeps the previous version for
"bundlegate bundles rollback <name>".

  bundlegate install ./my-bundle
  bundlegate install my-bundle-1.2.0.tar.gz --no-start

Options:
  --allow-downgrade       install a version lower than the installed one
  --no-start              install without starting it
${CLIENT_HELP}`

/** The body to send: a packed directory or the tarball file as it is. */
async function bodyOf(path: string): Promise<Readable> {
  let info: Awaited<ReturnType<typeof stat>>
  try {
    info = await stat(path)
  } catch (err) {
    throw createError('GW_ERR_CLI_USAGE', [`cannot read ${path}: ${(err as Error).message}`])
  }
  if (info.isDirectory()) return packBundle(path)
  if (!info.isFile() || !/\.(tar\.gz|tgz)$/i.test(path))
    throw createError('GW_ERR_CLI_USAGE', [`${path} is neither a bundle directory nor a .tar.gz / .tgz file`])
  return createReadStream(path)
}

/** `bundlegate install <dir | file.tar.gz>`. */
export async function installCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    'allow-downgrade': { type: 'boolean' },
    'no-start': { type: 'boolean' },
    ...CLIENT_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length !== 1)
    throw createError('GW_ERR_CLI_USAGE', [`give one bundle directory or .tar.gz file\n\n${HELP}`])
  const base = resolveBaseUrl(values.url)
  const timeoutMs = parseTimeout(values.timeout)
  const source = await resolveTokenSource(values)
  const query = new URLSearchParams()
  if (values['allow-downgrade']) query.set('allowDowngrade', 'true')
  if (values['no-start']) query.set('start', 'false')
  const q = query.size > 0 ? `?${query}` : ''
  const body = await bodyOf(positionals[0] as string)
  const res = await callApiStream(base, 'POST', `/bundles${q}`, {
    token: source.token,
    body,
    contentType: 'application/gzip',
    timeoutMs,
  })
  const managed = (res.body as { managed?: unknown } | undefined)?.managed
  if (values.json || exitCodeOf(res) !== 0 || managed === undefined) {
    printResponse(io, res, values.json ?? false)
    const hint = authHint(res.status, source, base)
    if (hint) line(io.err, hint)
    return exitCodeOf(res)
  }
  line(io.out, `installed ${describeManaged(managed as Parameters<typeof describeManaged>[0])}`)
  return 0
}
