import { GatewayError } from '../errors.ts'
import { type CliIo, line } from './io.ts'

const USAGE = `Usage: bundlegate <command> [options]

Commands:
  start [--example]                 run the gateway: broker, controller, web service (and the example bundle)
  token create|list|revoke|rotate-root   manage API tokens in the data directory
  user set-password|list            console users: reset a password (the initial one is in the first start's log)
  broker-credentials create|list|revoke  manage bundles' MQTT credentials (exposed broker)
  request <METHOD> <resource>       send a direct request over MQTT and print the answer
  run [dir] [--watch]               check a bundle's bundle.json and run it (TypeScript, JavaScript or Python)
  host <dir>...                     run several JavaScript bundles in one process, a worker thread each
  call <METHOD> <resource>          call the web service /api/v1 with an API token and print the answer
  bundles [<verb> <name>]           list the bundles (registered and installed); start, stop, restart, enable,
                                    disable, rollback or show the status of an installed one
  install <dir | file.tar.gz>       install or upgrade a bundle on the running gateway (its bundle manager)
  uninstall <name> [--purge]        uninstall a bundle the gateway installed
  logs <name> [-n N] [-f]           print (and follow) the log of a bundle the gateway runs
  events <pattern>...               print the push channel (events on matching resources) as it happens
  create <name> [--dir <parent>]    scaffold a TypeScript bundle that passes its own test

Run "bundlegate <command> --help" for the options of a command.`

type Command = (args: string[], io: CliIo) => Promise<number>

/**
 * Each command's module, imported when it runs: `start` never loads the SDK and mqtt.js that `run`, `request` and
 * `events` need (about 14 MiB of RSS in the gateway process, docs/performance.md).
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.ts')).startCommand,
  request: async () => (await import('./commands/request.ts')).requestCommand,
  token: async () => (await import('./commands/token.ts')).tokenCommand,
  user: async () => (await import('./commands/user.ts')).userCommand,
  'broker-credentials': async () =>
    (await import('./commands/broker-credentials.ts')).brokerCredentialsCommand,
  run: async () => (await import('./commands/run.ts')).runCommand,
  host: async () => (await import('./commands/host.ts')).hostCommand,
  call: async () => (await import('./commands/call.ts')).callCommand,
  bundles: async () => (await import('./commands/bundles.ts')).bundlesCommand,
  install: async () => (await import('./commands/install.ts')).installCommand,
  uninstall: async () => (await import('./commands/uninstall.ts')).uninstallCommand,
  logs: async () => (await import('./commands/logs.ts')).logsCommand,
  events: async () => (await import('./commands/events.ts')).eventsCommand,
  create: async () => (await import('./commands/create.ts')).createCommand,
}

/** Runs the CLI; returns the exit code. Testable in-process. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  try {
    const load =
      command === undefined ? undefined : Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined
    if (load) return await (await load())(rest, io)
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        line(io.out, USAGE)
        return command === undefined ? 1 : 0
      default:
        line(io.err, `bundlegate: unknown command "${command}"`)
        line(io.err, USAGE)
        return 2
    }
  } catch (err) {
    if (err instanceof GatewayError) {
      line(io.err, `bundlegate: ${err.message} (${err.code})`)
      return err.code === 'GW_ERR_CLI_USAGE' ? 2 : 1
    }
    line(io.err, `bundlegate: ${(err as Error).stack ?? String(err)}`)
    return 1
  }
}
