import { resolve } from 'node:path'
import { createError } from '../../errors.ts'
import { BundleHost, type HostedStatus, hostSpecFromDir } from '../../host/index.ts'
import { createLogger } from '../../logger.ts'
import { brokerUrlFromEnv } from '../../sdk/env.ts'
import { parse } from '../args.ts'
import { CONFIG_OPTIONS } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'
import { issueCredential } from '../run-credential.ts'
import { untilStopped } from '../until-stopped.ts'

const HELP = `Usage: bundlegate host <dir>... [options]

Runs several JavaScript bundles in ONE Node process, each in its own worker thread with its own MQTT connection,
heap limit and restarts (docs/host.md): a bundle's crash, process.exit(), heap exhaustion or endless loop ends its
own thread, which is restarted after 1 s, doubling to 60 s; the others go on. Each <dir> holds a bundle.json whose
\`main\` is JavaScript (.js, .mjs, .cjs; a TypeScript bundle runs here from its compiled output). SIGINT and
SIGTERM stop every bundle through its own shutdown, the last one first.

Options:
  --broker <url>      broker URL (default BROKER_URL, else BROKER_PORT_1883_TCP_ADDR/PORT, else mqtt://127.0.0.1:1883)
  --heap-mb <n>       V8 heap limit of each bundle in MiB (default 64)
  --config <file>     the gateway's configuration file (for data.dir)
  --data-dir <dir>    the gateway's data directory (default: data)

Each bundle gets BROKER_URL and BUNDLE_DIR=<dir>; a worker shares the host's working directory. When the gateway's
data directory holds broker-credentials.db, each bundle also gets a broker credential of its own, revoked when the
host stops (as with \`bundlegate run\`).`

/** `bundlegate host <dir>...`: returns when a signal (or `signal`) stopped every bundle. */
export async function hostCommand(
  argv: string[],
  io: CliIo,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONFIG_OPTIONS,
    broker: { type: 'string' },
    'heap-mb': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length === 0)
    throw createError('GW_ERR_CLI_USAGE', [`name at least one bundle directory\n\n${HELP}`])
  const heapMb = values['heap-mb'] === undefined ? undefined : Number(values['heap-mb'])
  if (heapMb !== undefined && !(Number.isInteger(heapMb) && heapMb >= 16))
    throw createError('GW_ERR_CLI_USAGE', [
      `Expected --heap-mb to be an integer ≥ 16, got "${values['heap-mb']}"`,
    ])
  const brokerUrl = values.broker ?? brokerUrlFromEnv()
  const specs = []
  for (const dir of positionals) specs.push(await hostSpecFromDir(resolve(dir), { BROKER_URL: brokerUrl }))
  const host = new BundleHost({ logger: createLogger(), limits: heapMb ? { heapMb } : {} })
  const revokes: Array<() => void> = []
  const report = (s: HostedStatus) => {
    const exit =
      s.lastExit && s.state === 'backoff'
        ? ` after ${describeExit(s.lastExit)}, next start ${s.nextStartAt}`
        : ''
    line(io.err, `bundlegate host: ${s.name} ${s.state}${exit}`)
  }
  try {
    for (const spec of specs) {
      const issued = await issueCredential(spec.name, brokerUrl, values).catch((err: Error) => {
        line(io.err, `bundlegate host: no broker credential for ${spec.name}: ${err.message}`)
        return undefined
      })
      if (issued) {
        Object.assign(spec.env, issued.env)
        revokes.push(() => issued.revoke())
      }
      host.add(spec, report)
    }
    line(io.err, `bundlegate host: ${specs.length} bundle(s) in process ${process.pid} (broker ${brokerUrl})`)
    await untilStopped(options.signal)
  } finally {
    await host.close()
    for (const revoke of revokes) revoke()
  }
  return 0
}

function describeExit(e: NonNullable<HostedStatus['lastExit']>): string {
  if (e.kind === 'exit') return `exit code ${e.code}`
  if (e.kind === 'error') return `an uncaught error (${e.message})`
  if (e.kind === 'unresponsive') return `${e.silentMs} ms without answering (blocked event loop)`
  return 'reaching its heap limit'
}
