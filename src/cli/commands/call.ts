import { readFile } from 'node:fs/promises'
import { createError } from '../../errors.ts'
import { parse } from '../args.ts'
import { transfer } from '../file-transfer.ts'
import { type CliIo, line } from '../io.ts'
import {
  authHint,
  CLIENT_HELP,
  CLIENT_OPTIONS,
  callApi,
  exitCodeOf,
  parseTimeout,
  printResponse,
  resolveBaseUrl,
  resolveTokenSource,
} from '../web-client.ts'

const HELP = `Usage: bundlegate call <METHOD> <resource> [options]

Calls the gateway's web service: <METHOD> <url>/api/v1<resource>, with an API token. Prints the status and the
pretty JSON answer; exits 0 for 2xx and 3xx, 1 otherwise.

  bundlegate call GET /example
  bundlegate call PUT /example --data '{"key":"v2"}'
  bundlegate call PUT /example --data @body.json
  bundlegate call POST /files --file fw.bin
  bundlegate call POST '/helper/upload?resource=/config-backup/import' --file config.json
  bundlegate call GET /files/<id> -o fw.bin

Options:
  --data <json|@file>     request body: JSON text, or @ and a JSON file (with --file: the form field jsonData)
  --file <file>           send the file as multipart/form-data (field "file"), streamed from disk
  -o, --output <file>     write a 2xx answer's body into the file (a download) instead of printing it
${CLIENT_HELP}`

/** `bundlegate call GET /example`. */
export async function callCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    data: { type: 'string' },
    file: { type: 'string' },
    output: { type: 'string', short: 'o' },
    ...CLIENT_OPTIONS,
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  const [method, resource] = positionals
  if (!method || !resource || positionals.length > 2) throw createError('GW_ERR_CLI_USAGE', [HELP])
  if (!/^[A-Za-z]+$/.test(method))
    throw createError('GW_ERR_CLI_USAGE', [`METHOD must be a word such as GET or PUT, got "${method}"`])
  if (!resource.startsWith('/'))
    throw createError('GW_ERR_CLI_USAGE', [`resource must start with "/", got "${resource}"`])
  const body = values.data === undefined ? undefined : await readData(values.data)
  const base = resolveBaseUrl(values.url)
  const timeoutMs = parseTimeout(values.timeout)
  const source = await resolveTokenSource(values)
  const { token } = source
  if (values.file !== undefined || values.output !== undefined) {
    const opts = { token, timeoutMs, file: values.file, data: body, output: values.output }
    const res = await transfer(base, method.toUpperCase(), resource, opts)
    printResponse(io, res, values.json ?? false)
    if (res.saved && !values.json) line(io.out, `saved ${res.saved.bytes} bytes to ${res.saved.path}`)
    return exitCodeOf(res)
  }
  const res = await callApi(base, method.toUpperCase(), resource, { token, body, timeoutMs })
  printResponse(io, res, values.json ?? false)
  const hint = authHint(res.status, source, base)
  if (hint) line(io.err, hint)
  return exitCodeOf(res)
}

/** `--data`: JSON text, or `@file`; checked here so a typo never reaches the gateway. */
async function readData(value: string): Promise<string> {
  let text = value
  let what = '--data'
  if (value.startsWith('@')) {
    const file = value.slice(1)
    what = `--data file ${file}`
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw createError('GW_ERR_CLI_USAGE', [`cannot read ${what}: ${(err as Error).message}`], {
        cause: err,
      })
    }
  }
  try {
    JSON.parse(text)
  } catch (err) {
    throw createError('GW_ERR_CLI_USAGE', [`${what} is not JSON: ${(err as Error).message}`])
  }
  return text
}
