import { resolve } from 'node:path'
import { type BrokerCredentialInfo, BrokerCredentialStore } from '../../broker/index.ts'
import { loadConfig } from '../../config/index.ts'
import { createError } from '../../errors.ts'
import { silentLogger } from '../../logger.ts'
import { parse } from '../args.ts'
import { CONFIG_OPTIONS, dataFlags } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'
import { subcommandHelp } from '../subcommand-help.ts'
import { printTable } from '../table.ts'

const HELP = `Usage: bundlegate broker-credentials <create|list|revoke> [options]

Manages the MQTT credentials of bundles for the embedded broker, directly in the gateway's data directory (safe
while the gateway runs). They are needed when the broker requires authentication: broker.auth "on", or "auto" (the
default) with broker.host not a loopback address. The MQTT user name is the bundle name; a bundle authenticated as
<name> may register only <name>, <name>-view and <name>-model. See docs/security.md.

  broker-credentials create <bundle> [--description "…"]   issue a password (shown once)
  broker-credentials list
  broker-credentials revoke <bundle|bc_id>                 refuse the bundle's credentials (or one) from now on

Options:
  --json                  machine-readable output
  --config <file>         gateway configuration file (for data.dir)
  --data-dir <dir>        data directory (default: data)

Give the bundle BROKER_USERNAME=<bundle> and BROKER_PASSWORD=<password> (or mqtt://<bundle>:<password>@host:port).`

/** `bundlegate broker-credentials …`. */
export async function brokerCredentialsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONFIG_OPTIONS,
    description: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  const [sub, ...rest] = positionals
  const exit = subcommandHelp(io, HELP, values.help, sub)
  if (exit !== undefined) return exit
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke')
    throw createError('GW_ERR_CLI_USAGE', [`unknown broker-credentials command "${sub}"\n\n${HELP}`])
  const expected = sub === 'list' ? 0 : 1
  if (rest.length !== expected)
    throw createError('GW_ERR_CLI_USAGE', [
      `usage: bundlegate broker-credentials ${sub}${expected ? (sub === 'create' ? ' <bundle>' : ' <bundle|bc_id>') : ''}`,
    ])
  const config = await loadConfig({ file: values.config, flags: dataFlags(values) })
  const store = BrokerCredentialStore.open(resolve(config.data.dir), { logger: silentLogger() })
  try {
    if (sub === 'create') {
      const bundle = rest[0] as string
      const created = store.create(
        bundle,
        values.description === undefined ? {} : { description: values.description },
      )
      if (values.json) {
        line(
          io.out,
          JSON.stringify(
            { ...created.credential, username: created.username, password: created.password },
            null,
            2,
          ),
        )
      } else {
        line(io.out, `Created broker credential ${created.credential.id} for bundle ${bundle}.`)
        line(io.out, 'The password is shown only now; give the bundle these environment variables:')
        line(io.out, '')
        line(io.out, `  BROKER_USERNAME=${created.username}`)
        line(io.out, `  BROKER_PASSWORD=${created.password}`)
      }
      return 0
    }
    if (sub === 'list') {
      const all = store.list()
      if (values.json) line(io.out, JSON.stringify(all, null, 2))
      else printCredentials(io, all)
      return 0
    }
    const target = rest[0] as string
    const revoked = store.revoke(target)
    if (revoked.length === 0) throw createError('GW_ERR_BROKER_CREDENTIAL_NOT_FOUND', [target])
    if (values.json) line(io.out, JSON.stringify(revoked, null, 2))
    else
      for (const c of revoked)
        line(io.out, `Revoked broker credential ${c.id} of bundle ${c.bundle} at ${c.revokedAt}.`)
    return 0
  } finally {
    store.close()
  }
}

function printCredentials(io: CliIo, all: BrokerCredentialInfo[]): void {
  if (all.length === 0) {
    line(io.out, 'No broker credentials.')
    return
  }
  const time = (t: string | null) => (t ? t.slice(0, 16).replace('T', ' ') : '-')
  printTable(io, [
    ['ID', 'BUNDLE', 'DESCRIPTION', 'CREATED', 'LAST USED', 'STATE'],
    ...all.map((c) => [
      c.id,
      c.bundle,
      c.description,
      time(c.createdAt),
      time(c.lastUsedAt),
      c.revokedAt ? 'revoked' : 'active',
    ]),
  ])
}
