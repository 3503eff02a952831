import { type ConfigInput, loadConfig } from '../../config/index.ts'
import { createError } from '../../errors.ts'
import { deathSignalLauncher } from '../../process/index.ts'
import { type Gateway, startGateway } from '../../server.ts'
import { type Parsed, parse } from '../args.ts'
import { exampleBundleSource } from '../example-bundle-source.ts'
import { CONFIG_OPTIONS, dataFlags } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'
import { untilStopped } from '../until-stopped.ts'

const HELP = `Usage: bundlegate start [options]

Runs the gateway: the MQTT broker (embedded, unless --broker-url), the controller and the web service.

Options:
  --example               also install and run the example bundle (examples/example) as a managed bundle
  --hub                   run as the fleet's hub: no local bundles, the web service fronts the fleet
                          (needs fleet.url and fleet.localId; the broker stays on loopback, a free port)
  --config <file>         JSON configuration file (see docs/config.md)
  --http-host <host>      web service interface (default 127.0.0.1; 0.0.0.0 for the LAN)
  --http-port <port>      web service port (default 8080)
  --data-dir <dir>        where tokens.db lives (default data)
  --token-file <file>     root token file (default /etc/mx-api-token when writable, else <data-dir>/mx-api-token)
  --no-auth               no API tokens (development only)
  --debug                 keep stack traces in error bodies
  --broker-host <host>    embedded broker interface (default 127.0.0.1)
  --broker-port <port>    embedded broker port (default 1883)
  --broker-url <url>      use this external broker instead of the embedded one
  --mode <mode>           default | sanji-compat
  --no-liveness           never mark bundles offline
  --log-level <level>     fatal | error | warn | info | debug | trace | silent`

/** The options of `bundlegate start`. */
const START_OPTIONS = {
  example: { type: 'boolean' },
  hub: { type: 'boolean' },
  'broker-host': { type: 'string' },
  'broker-port': { type: 'string' },
  'broker-url': { type: 'string' },
  mode: { type: 'string' },
  'no-liveness': { type: 'boolean' },
  'log-level': { type: 'string' },
  'http-host': { type: 'string' },
  'http-port': { type: 'string' },
  'no-auth': { type: 'boolean' },
  debug: { type: 'boolean' },
  ...CONFIG_OPTIONS,
  help: { type: 'boolean', short: 'h' },
} as const

type StartValues = Parsed<typeof START_OPTIONS>['values']

/** `bundlegate start`: runs until SIGINT or SIGTERM. */
export async function startCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, START_OPTIONS)
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length > 0)
    throw createError('GW_ERR_CLI_USAGE', [`unexpected argument "${positionals[0]}"`])
  const config = await loadConfig({ file: values.config, flags: startFlags(values) })

  const started = Date.now()
  if (config.fleet.hub && !config.fleet.url)
    throw createError('GW_ERR_CLI_USAGE', ['--hub needs fleet.url and fleet.localId (docs/fleet.md)'])
  const gateway = await startGateway(config)
  const { core } = gateway.controller
  printBanner(gateway, started, io)

  if (values.example) {
    const off = core.onChange((event, c) => {
      if (event !== 'registered' || c.name !== 'example') return
      off()
      line(io.out, `  example     registered in ${Date.now() - started} ms: GET and PUT /example`)
      line(io.out, '')
      line(io.out, 'Try it:')
      for (const l of tryIt(gateway)) line(io.out, `  ${l}`)
    })
    await runExample(gateway, io)
  }
  await untilStopped()
  line(io.out, 'stopping')
  await gateway.close() // stops the managed bundles (SIGTERM, SIGKILL after manager.stopTimeoutSec) first
  return 0
}

/**
 * Installs the example bundle as a managed bundle (docs/manager.md) and starts it, through the same code as any
 * other: the compiled JavaScript when the gateway runs from `dist/`, the TypeScript source when it runs from
 * `src/` (`npm run dev`). Its output is passed through.
 */
async function runExample(gateway: Gateway, io: CliIo): Promise<void> {
  if (deathSignalLauncher() === undefined)
    gateway.logger.warn(
      { bundle: 'example' },
      'setpriv --pdeathsig is not available: only the lifeline pipe stops the example bundle if the gateway is killed',
    )
  const source = await exampleBundleSource()
  try {
    const info = await gateway.manager.installDirectory(source.dir, { allowDowngrade: true })
    gateway.manager.follow('example', (l) => {
      if (l.stream !== 'manager') line(l.stream === 'stdout' ? io.out : io.err, l.line)
    })
    if (info.state !== 'running')
      gateway.logger.warn(
        { bundle: 'example', state: info.state, message: info.message },
        'example bundle is not running',
      )
  } catch (err) {
    gateway.logger.error({ bundle: 'example', err }, 'example bundle not installed')
  } finally {
    await source.cleanup()
  }
}

/** The seed's flow with curl: the token from the file, GET and PUT /api/v1/example. */
function tryIt(gateway: Gateway): string[] {
  const url = `${gateway.httpUrl}/api/v1/example`
  const header = gateway.tokenFile ? ` -H "mx-api-token: $(cat ${gateway.tokenFile})"` : ''
  return [
    `curl${header} ${url}`,
    `curl${header} -X PUT -H 'content-type: application/json' -d '{"key":"v2"}' ${url}`,
  ]
}

/** The configuration the command-line flags give (validated with the rest by loadConfig). */
function startFlags(values: StartValues): ConfigInput {
  const flags: ConfigInput = {}
  const broker: Record<string, unknown> = {}
  if (values['broker-host'] !== undefined) broker.host = values['broker-host']
  if (values['broker-port'] !== undefined)
    broker.port = /^\d+$/.test(values['broker-port']) ? Number(values['broker-port']) : values['broker-port']
  if (values['broker-url'] !== undefined) broker.url = values['broker-url']
  if (values.hub) {
    // docs/fleet.md: a hub runs no bundles; its broker only serves its own controller
    if (values.example) throw createError('GW_ERR_CLI_USAGE', ['--hub runs no bundles: drop --example'])
    flags.broker = { host: '127.0.0.1', port: 0, ...broker }
    flags.fleet = { hub: true }
  } else if (Object.keys(broker).length > 0) flags.broker = broker
  const controller: Record<string, unknown> = {}
  if (values.mode !== undefined) controller.mode = values.mode
  if (values['no-liveness']) controller.liveness = false
  if (Object.keys(controller).length > 0) flags.controller = controller
  if (values['log-level'] !== undefined) flags.log = { level: values['log-level'] as 'info' } // checked by loadConfig
  const http: Record<string, unknown> = {}
  if (values['http-host'] !== undefined) http.host = values['http-host']
  if (values['http-port'] !== undefined)
    http.port = /^\d+$/.test(values['http-port']) ? Number(values['http-port']) : values['http-port']
  if (values['no-auth']) http.auth = false
  if (values.debug) http.debug = true
  if (Object.keys(http).length > 0) flags.http = http
  Object.assign(flags, dataFlags(values))
  return flags
}

/** What `bundlegate start` prints once the gateway is ready. */
function printBanner(gateway: Gateway, started: number, io: CliIo): void {
  const { core } = gateway.controller
  const config = gateway.config
  line(io.out, `Bundlegate ready in ${Date.now() - started} ms`)
  line(io.out, `  web service ${gateway.httpUrl}/api/v1`)
  if (gateway.config.http.console) {
    const first = gateway.consoleUsers?.takeInitialPassword()
    const login = first
      ? ` (log in as ${first.username}, initial password ${first.password}: shown this once)`
      : ''
    line(io.out, `  console     ${gateway.httpUrl}/${login}`)
  }
  line(io.out, `  root token  ${gateway.tokenFile ?? 'none: authentication is off'}`)
  line(io.out, `  broker      ${gateway.brokerUrl} (${gateway.broker ? 'embedded' : 'external'})`)
  line(io.out, `  controller  ${core.mode} mode, instance ${core.instance}`)
  if (config.fleet.url)
    line(io.out, `  fleet       ${config.fleet.localId}${config.fleet.hub ? ' (hub)' : ''}`)
}
