import { GatewayError } from '../errors.ts'
import { requestCommand } from './commands/request.ts'
import { startCommand } from './commands/start.ts'
import { tokenCommand } from './commands/token.ts'
import { type CliIo, line } from './io.ts'

const USAGE = `Usage: bundlegate <command> [options]

Commands:
  start [--example]                 run the gateway: broker, controller, web service (and the example bundle)
  token create|list|revoke|rotate-root   manage API tokens in the data directory
  request <METHOD> <resource>       send a direct request over MQTT and print the answer

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
