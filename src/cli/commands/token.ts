import { resolve } from 'node:path'
import { loadConfig } from '../../config/index.ts'
import { createError } from '../../errors.ts'
import { silentLogger } from '../../logger.ts'
import {
  adoptRootToken,
  defaultTokenFilePath,
  parseDuration,
  rotateRootToken,
  type TokenInfo,
  TokenStore,
} from '../../tokens/index.ts'
import { parse } from '../args.ts'
import { CONFIG_OPTIONS, dataFlags } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'
import { subcommandHelp } from '../subcommand-help.ts'
import { printTable } from '../table.ts'

const HELP = `Usage: bundlegate token <create|list|revoke|rotate-root|adopt-root> [options]

Manages API tokens directly in the gateway's data directory (safe while the gateway runs).

  token create --scope read|readwrite --description "…" [--expires 30d]
  token list
  token revoke <id>
  token rotate-root            replace the root token and rewrite the root token file
  token adopt-root             make the secret already in the root token file this gateway's root token (a file
                               the start refused with GW_ERR_TOKEN_FILE_FOREIGN: only if it is not another install's)

Options:
  --json                  machine-readable output
  --config <file>         gateway configuration file (for data.dir and data.tokenFile)
  --data-dir <dir>        data directory (default: data)
  --token-file <file>     root token file (default: /etc/mx-api-token when writable, else <data-dir>/mx-api-token)`

/** `bundlegate token …`. */
export async function tokenCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONFIG_OPTIONS,
    scope: { type: 'string' },
    description: { type: 'string' },
    expires: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  const [sub, ...rest] = positionals
  const exit = subcommandHelp(io, HELP, values.help, sub)
  if (exit !== undefined) return exit
  const config = await loadConfig({ file: values.config, flags: dataFlags(values) })
  const dataDir = resolve(config.data.dir)
  const store = TokenStore.open(dataDir, { logger: silentLogger() })
  try {
    switch (sub) {
      case 'create':
        return createToken(store, values, io)
      case 'list': {
        const tokens = store.list()
        if (values.json) line(io.out, JSON.stringify(tokens.map(public_), null, 2))
        else printTokens(io, tokens)
        return 0
      }
      case 'revoke': {
        const id = rest[0]
        if (!id || rest.length > 1)
          throw createError('GW_ERR_CLI_USAGE', ['usage: bundlegate token revoke <id>'])
        const token = store.revoke(id)
        if (!token) throw createError('GW_ERR_TOKEN_NOT_FOUND', [id])
        if (values.json) line(io.out, JSON.stringify(public_(token), null, 2))
        else line(io.out, `Revoked token ${token.id} (${token.description}) at ${token.revokedAt}.`)
        return 0
      }
      case 'rotate-root': {
        const path = config.data.tokenFile ? resolve(config.data.tokenFile) : defaultTokenFilePath(dataDir)
        const { token } = await rotateRootToken(store, path)
        if (values.json) line(io.out, JSON.stringify({ ...public_(token), path }, null, 2))
        else
          line(
            io.out,
            `The root token is now ${token.id}; the new secret is in ${path} (mode 0600). The old one no longer works.`,
          )
        return 0
      }
      case 'adopt-root': {
        const path = config.data.tokenFile ? resolve(config.data.tokenFile) : defaultTokenFilePath(dataDir)
        const token = await adoptRootToken(store, path)
        if (values.json) line(io.out, JSON.stringify({ ...public_(token), path }, null, 2))
        else
          line(
            io.out,
            `The secret in ${path} is now this gateway's root token ${token.id}; any other root token is revoked.`,
          )
        return 0
      }
      default:
        throw createError('GW_ERR_CLI_USAGE', [`unknown token command "${sub}"\n\n${HELP}`])
    }
  } finally {
    store.close()
  }
}

/** `token create`: the new token's secret is printed this once. */
function createToken(
  store: TokenStore,
  values: {
    scope?: string | undefined
    description?: string | undefined
    expires?: string | undefined
    json?: boolean | undefined
  },
  io: CliIo,
): number {
  if (values.scope !== 'read' && values.scope !== 'readwrite') {
    throw createError('GW_ERR_CLI_USAGE', [
      `Expected \`--scope\` to be read or readwrite, got \`${values.scope ?? 'nothing'}\``,
    ])
  }
  if (values.description === undefined) throw createError('GW_ERR_CLI_USAGE', ['--description is required'])
  const { token, secret } = store.create({
    description: values.description,
    scope: values.scope,
    ...(values.expires === undefined
      ? {}
      : { expiresInSec: usage(() => parseDuration(values.expires as string)) }),
  })
  if (values.json) {
    line(io.out, JSON.stringify({ ...public_(token), token: secret }, null, 2))
  } else {
    line(
      io.out,
      `Created token ${token.id} (${token.scope}${token.expiresAt ? `, expires ${token.expiresAt}` : ''}).`,
    )
    line(io.out, 'Its secret is shown only now; send it in the mx-api-token header:')
    line(io.out, '')
    line(io.out, `  ${secret}`)
  }
  return 0
}

/** A bad option value is a usage error (exit 2), whichever area found it. */
function usage<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw createError('GW_ERR_CLI_USAGE', [(err as Error).message], { cause: err })
  }
}

function public_(t: TokenInfo) {
  const { id, description, scope, createdAt, lastUsedAt, expiresAt, revokedAt, root } = t
  return { id, description, scope, createdAt, lastUsedAt, expiresAt, revokedAt, root }
}

function printTokens(io: CliIo, tokens: TokenInfo[]): void {
  if (tokens.length === 0) {
    line(io.out, 'No tokens.')
    return
  }
  const rows = [
    ['ID', 'SCOPE', 'DESCRIPTION', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'],
    ...tokens.map((t) => [
      t.id,
      t.root ? `${t.scope} (root)` : t.scope,
      t.description,
      t.createdAt.slice(0, 16).replace('T', ' '),
      t.lastUsedAt ? t.lastUsedAt.slice(0, 16).replace('T', ' ') : '-',
      t.expiresAt ? t.expiresAt.slice(0, 16).replace('T', ' ') : 'never',
      t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active',
    ]),
  ]
  printTable(io, rows)
}
