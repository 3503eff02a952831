import { GatewayError } from '../errors.ts'
import { brokerCredentialsCommand } from './commands/broker-credentials.ts'
import { bundlesCommand } from './commands/bundles.ts'
import { callCommand } from './commands/call.ts'
import { createCommand } from './commands/create.ts'
import { eventsCommand } from './commands/events.ts'
import { requestCommand } from './commands/request.ts'
import { runCommand } from './commands/run.ts'
import { startCommand } from './commands/start.ts'
import { tokenCommand } from './commands/token.ts'
import { userCommand } from './commands/user.ts'
import { type CliIo, line } from './io.ts'

const USAGE = `Usage: bundlegate <command> [options]

Commands:
  start [--example]                 run the gateway: broker, controller, web service (and the example bundle)
  token create|list|revoke|rotate-root   manage API tokens in the data directory
  user set-password|list            console users: reset a password (the initial one is in the first start's log)
  broker-credentials create|list|revoke  manage bundles' MQTT credentials (exposed broker)
  request <METHOD> <resource>       send a direct request over MQTT and print the answer
  run [dir] [--watch]               check a bundle's bundle.json and run it (TypeScript, JavaScript or Python)
  call <METHOD> <resource>          call the web service /api/v1 with an API token and print the answer
  bundles                           list the registered bundles
  events <pattern>...               print the push channel (events on matching resources) as it happens
  create <name> [--dir <parent>]    scaffold a TypeScript bundle that passes its own test

Run "bundlegate <command> --help" for the options of a command.`

/** Runs the CLI; returns the exit code. Testable in-process. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'start':
        return await startCommand(rest, io)
      case 'request':
        return await requestCommand(rest, io)
      case 'token':
        return await tokenCommand(rest, io)
      case 'user':
        return await userCommand(rest, io)
      case 'broker-credentials':
        return await brokerCredentialsCommand(rest, io)
      case 'run':
        return await runCommand(rest, io)
      case 'call':
        return await callCommand(rest, io)
      case 'bundles':
        return await bundlesCommand(rest, io)
      case 'events':
        return await eventsCommand(rest, io)
      case 'create':
        return await createCommand(rest, io)
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
