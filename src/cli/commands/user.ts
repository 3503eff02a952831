import { resolve } from 'node:path'
import { loadConfig } from '../../config/index.ts'
import { createError } from '../../errors.ts'
import { silentLogger } from '../../logger.ts'
import { ADMIN_USERNAME, PASSWORD_MAX_LENGTH, passwordProblem, UserStore } from '../../users/index.ts'
import { parse } from '../args.ts'
import { CONFIG_OPTIONS, dataFlags } from '../gateway-flags.ts'
import { type CliIo, line } from '../io.ts'
import { subcommandHelp } from '../subcommand-help.ts'

const HELP = `Usage: bundlegate user <set-password|list> [options]

Manages the web console's users in the gateway's data directory (<data-dir>/users.db; safe while the gateway runs:
sessions opened with the old password end at their next request).

  user set-password [--username admin] [--password-stdin] [--must-change]
      sets (or, for a new username, creates) a user's password; asks for it twice on a terminal,
      or reads the first line of standard input with --password-stdin
  user list

Options:
  --username <name>       the user (default: ${ADMIN_USERNAME})
  --password-stdin        read the new password from standard input instead of asking
  --must-change           the user must change this password at the next login
  --json                  machine-readable output (list)
  --config <file>         gateway configuration file (for data.dir)
  --data-dir <dir>        data directory (default: data)`

/** Standard input for the command: the CLI's own (tests pass a stream), else the process's. */
type UserIo = CliIo & {
  in?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => void }
}

/** `bundlegate user …`. */
export async function userCommand(argv: string[], io: UserIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...CONFIG_OPTIONS,
    username: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    'must-change': { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  const [sub] = positionals
  const exit = subcommandHelp(io, HELP, values.help, sub)
  if (exit !== undefined) return exit
  if (sub !== 'set-password' && sub !== 'list')
    throw createError('GW_ERR_CLI_USAGE', [`unknown user command "${sub}" (set-password, list)`])
  const config = await loadConfig({ file: values.config, flags: dataFlags(values) })
  const store = UserStore.open(resolve(config.data.dir), { logger: silentLogger() })
  try {
    if (sub === 'list') {
      const users = store.list()
      if (values.json) line(io.out, JSON.stringify(users, null, 2))
      else
        for (const u of users)
          line(io.out, `${u.username}${u.mustChangePassword ? ' (must change password)' : ''}`)
      return 0
    }
    const username = values.username ?? ADMIN_USERNAME
    const input = io.in ?? process.stdin
    let password: string
    if (values['password-stdin'] || !input.isTTY) {
      password = await readFirstLine(input)
    } else {
      password = await ask(input, io.err, `New password for ${username}: `)
      const again = await ask(input, io.err, 'Repeat it: ')
      if (again !== password) throw createError('GW_ERR_CLI_USAGE', ['the two passwords differ'])
    }
    if (password === '') throw createError('GW_ERR_USER_STORE', [store.path, 'no password was given'])
    const problem = passwordProblem(password, username)
    if (problem !== undefined) throw createError('GW_ERR_PASSWORD_POLICY', [problem])
    const existed = store.get(username) !== undefined
    await store.setPassword(username, password, values['must-change'] === true)
    line(
      io.out,
      `${existed ? 'Password changed' : 'User created'}: ${username}` +
        (values['must-change'] ? ' (must change it at the next login)' : '') +
        '. Its open console sessions end at their next request.',
    )
    return 0
  } finally {
    store.close()
  }
}

/** The first line of a stream (without its line end), at most the longest password allowed. */
async function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of input) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8')
    if (text.includes('\n') || text.length > PASSWORD_MAX_LENGTH * 4) break
  }
  return (text.split(/\r?\n/)[0] ?? '').slice(0, PASSWORD_MAX_LENGTH * 4)
}

/** Asks on a terminal without echo. */
function ask(
  input: NodeJS.ReadableStream & { setRawMode?: (raw: boolean) => void },
  out: NodeJS.WritableStream,
  prompt: string,
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    out.write(prompt)
    let value = ''
    input.setRawMode?.(true)
    input.resume()
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') {
          done()
          out.write('\n')
          resolvePromise(value)
          return
        }
        if (ch === '\u0003') {
          done()
          out.write('\n')
          reject(createError('GW_ERR_CLI_USAGE', ['cancelled']))
          return
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else value += ch
      }
    }
    const done = () => {
      input.removeListener('data', onData)
      input.setRawMode?.(false)
      input.pause()
    }
    input.on('data', onData)
  })
}
