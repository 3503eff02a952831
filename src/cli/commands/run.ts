import { join, resolve } from 'node:path'
import { createError, GatewayError } from '../../errors.ts'
import { brokerUrlFromEnv } from '../../sdk/env.ts'
import { loadManifest, type Manifest, type ManifestProblem } from '../../sdk/manifest.ts'
import { parse } from '../args.ts'
import { CONFIG_OPTIONS } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'
import { type RunOptions, runOnce } from '../run-child.ts'
import { issueCredential } from '../run-credential.ts'
import { resolveLaunch } from '../run-launch.ts'
import { watchLoop } from '../run-watch.ts'

export type { RunOptions } from '../run-child.ts'

const HELP = `Usage: bundlegate run [dir] [options]

Checks <dir>/bundle.json (default dir: .), then runs the bundle's \`main\` from <dir>: TypeScript (.ts, .mts) with
Node and tsx, JavaScript (.js, .mjs, .cjs) with Node, Python (.py) with python3 (original Sanji bundles). Without
\`main\`, the first of index.ts, index.js, index.mjs, index.py that exists. The bundle's output is streamed through;
the command exits with the bundle's exit code (128 + n when a signal ended it). SIGINT and SIGTERM are passed on.

Options:
  --broker <url>      broker URL (default BROKER_URL, else BROKER_PORT_1883_TCP_ADDR/PORT, else mqtt://127.0.0.1:1883)
  --watch             restart the bundle when a file in <dir> changes (not node_modules, data/, dotfiles)
  --config <file>     the gateway's configuration file (for data.dir)
  --data-dir <dir>    the gateway's data directory (default: data)

The bundle gets BROKER_URL, BROKER_PORT_1883_TCP_ADDR, BROKER_PORT_1883_TCP_PORT and BUNDLE_DIR=<dir>, and runs
in <dir>. BUNDLEGATE_PYTHON names another Python interpreter than python3.

When the gateway's data directory holds broker-credentials.db (its broker requires MQTT authentication) and
neither BROKER_USERNAME nor a user in the broker URL is set, the bundle also gets BROKER_USERNAME=<name> and a
fresh BROKER_PASSWORD, issued for this run and revoked when it ends (docs/security.md).`

/** `bundlegate run [dir]`. */
export async function runCommand(argv: string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONFIG_OPTIONS,
    broker: { type: 'string' },
    watch: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length > 1)
    throw createError('GW_ERR_CLI_USAGE', [`unexpected argument "${positionals[1]}"\n\n${HELP}`])
  const dir = resolve(positionals[0] ?? '.')
  const brokerUrl = values.broker ?? brokerUrlFromEnv()

  let manifest: Manifest
  try {
    manifest = await loadManifest(dir)
  } catch (err) {
    if (err instanceof GatewayError && err.code === 'GW_ERR_MANIFEST_INVALID') {
      printInvalid(io, dir, err)
      return 1
    }
    throw err
  }
  const launch = resolveLaunch(dir, manifest, brokerUrl)
  if (typeof launch === 'string') {
    line(io.err, `bundlegate: ${launch}`)
    return 1
  }
  let issued: Awaited<ReturnType<typeof issueCredential>>
  try {
    issued = await issueCredential(manifest.name, brokerUrl, values)
  } catch (err) {
    // the bundle may still run (a broker without authentication); say why it has no credential
    line(io.err, `bundlegate: no broker credential issued: ${(err as Error).message}`)
  }
  if (issued) {
    Object.assign(launch.env, issued.env)
    line(
      io.err,
      `bundlegate: issued broker credential ${issued.id} for ${manifest.name} (revoked when this run ends)`,
    )
  }
  line(
    io.err,
    `bundlegate: running ${manifest.name} ${manifest.version}: ${launch.label} (broker ${brokerUrl})`,
  )
  try {
    return await (values.watch ? watchLoop(launch, dir, io, options) : runOnce(launch, io, options))
  } finally {
    try {
      issued?.revoke()
    } catch (err) {
      line(io.err, `bundlegate: cannot revoke broker credential ${issued?.id}: ${(err as Error).message}`)
    }
  }
}

/** Every problem on its own line: "  Expected `ttl` to be a positive integer (seconds), got `-1` (number)". */
function printInvalid(io: CliIo, dir: string, err: GatewayError): void {
  const problems = (err.data as { problems?: ManifestProblem[] } | undefined)?.problems
  if (!problems) {
    // not JSON: the message says where
    line(io.err, `bundlegate: ${err.message} (${err.code})`)
    return
  }
  const n = problems.length
  line(
    io.err,
    `bundlegate: invalid bundle.json (${join(dir, 'bundle.json')}): ${n} problem${n === 1 ? '' : 's'} (${err.code})`,
  )
  for (const p of problems)
    line(
      io.err,
      `  Expected ${p.field === '' ? 'the manifest' : `\`${p.field}\``} to be ${p.expected}, got ${p.found}`,
    )
}
