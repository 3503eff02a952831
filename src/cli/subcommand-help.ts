import { type CliIo, line } from './io.ts'

/**
 * The help of a command with subcommands (`token`, `user`, `broker-credentials`): with `--help` it is printed on
 * stdout and the exit code is 0; without a subcommand, on stderr with exit code 2. Otherwise (a subcommand and no
 * `--help`) nothing is printed and the answer is `undefined`: the command goes on.
 * @example
 * const exit = subcommandHelp(io, HELP, values.help, sub)
 * if (exit !== undefined) return exit
 */
export function subcommandHelp(
  io: CliIo,
  help: string,
  asked: boolean | undefined,
  sub: string | undefined,
): number | undefined {
  if (!asked && sub !== undefined) return undefined
  line(asked ? io.out : io.err, help)
  return asked ? 0 : 2
}
