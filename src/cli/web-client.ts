/**
 * What `bundlegate call` and `bundlegate bundles` share: where the web service is, which token to send, one HTTP
 * call with global fetch, and how an answer is printed.
 * @module
 */

import { readFile } from 'node:fs/promises'
import { STATUS_CODES } from 'node:http'
import { resolve } from 'node:path'
import { createError } from '../errors.ts'
import { type CliIo, line } from './io.ts'

/** The web service when neither `--url` nor `BUNDLEGATE_URL` says otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:8080'

/**
 * Where the root token is looked for when no token is given: the file the gateway writes when it may
 * (`/etc/mx-api-token`), else the one it writes in its default data directory (relative to the working directory).
 */
export const DEFAULT_TOKEN_FILES: readonly string[] = ['/etc/mx-api-token', 'data/mx-api-token']

/** How long a call waits for the answer when `--timeout` is not given (above the longest sensible bundle ttl). */
export const DEFAULT_TIMEOUT_MS = 120_000

/** The options every web-service command takes (for `parse`). */
export const CLIENT_OPTIONS = {
  token: { type: 'string' },
  'token-file': { type: 'string' },
  url: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
} as const

/** Their help lines. */
export const CLIENT_HELP = `  --token <token>         API token (mx-api-token header)
  --token-file <file>     read the token from this file
  --url <url>             web service (default BUNDLEGATE_URL or ${DEFAULT_URL})
  --timeout <ms>          how long to wait for the answer (default ${DEFAULT_TIMEOUT_MS})
  --json                  print only the JSON body

Without --token or --token-file: BUNDLEGATE_TOKEN, else the root token file /etc/mx-api-token when readable, else
./data/mx-api-token when present.`

/** The token to send and where it came from, for the hint on a 401 ({@link authHint}). */
export interface ResolvedToken {
  token: string | undefined
  /** "--token", "the file /etc/mx-api-token (--token-file)", "BUNDLEGATE_TOKEN", …; what was tried when none. */
  from: string
}

/**
 * The token to send: `--token`, else `--token-file`, else `BUNDLEGATE_TOKEN`, else the first readable default token
 * file; undefined when there is none (the call goes out without one and the gateway answers 401).
 * @throws GW_ERR_TOKEN_FILE when `--token-file` cannot be read.
 */
export async function resolveToken(
  values: { token?: string | undefined; 'token-file'?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
  defaults: readonly string[] = DEFAULT_TOKEN_FILES,
): Promise<string | undefined> {
  return (await resolveTokenSource(values, env, defaults)).token
}

/** {@link resolveToken} with where the token came from. */
export async function resolveTokenSource(
  values: { token?: string | undefined; 'token-file'?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
  defaults: readonly string[] = DEFAULT_TOKEN_FILES,
): Promise<ResolvedToken> {
  if (values.token !== undefined)
    return { token: values.token.trim() || undefined, from: 'the --token option' }
  const file = values['token-file']
  if (file !== undefined) {
    try {
      const token = (await readFile(file, 'utf8')).trim() || undefined
      return { token, from: `the file ${resolve(file)} (--token-file)` }
    } catch (err) {
      throw createError('GW_ERR_TOKEN_FILE', [file, 'read', (err as Error).message], { cause: err })
    }
  }
  if (env.BUNDLEGATE_TOKEN)
    return {
      token: env.BUNDLEGATE_TOKEN.trim() || undefined,
      from: 'the environment variable BUNDLEGATE_TOKEN',
    }
  for (const path of defaults) {
    try {
      const token = (await readFile(path, 'utf8')).trim()
      if (token)
        return { token, from: `the file ${resolve(path)} (the first readable of ${defaults.join(', ')})` }
    } catch {
      // not there, or not readable by us: try the next one
    }
  }
  return {
    token: undefined,
    from: `nothing: no --token, --token-file or BUNDLEGATE_TOKEN, and none of ${defaults.join(', ')} is readable`,
  }
}

/**
 * The line printed (on stderr) after a 401: which token was sent, from where, and how to send the right one.
 * Undefined for any other status.
 */
export function authHint(status: number, source: ResolvedToken, base: string): string | undefined {
  if (status !== 401) return undefined
  const what = source.token === undefined ? 'no token was sent' : `the token sent came from ${source.from}`
  const tail =
    source.token === undefined
      ? `: ${source.from.replace(/^nothing: /, '')}`
      : ', and that gateway does not accept it'
  return (
    `bundlegate: ${what}${tail} (${base}). Fix: --token-file <the file that gateway prints as "root token" at its ` +
    'start>, --token <token>, or BUNDLEGATE_TOKEN=<token>'
  )
}

/**
 * The web service's base URL (no trailing `/`, no `/api/v1`): `--url`, else `BUNDLEGATE_URL`, else
 * {@link DEFAULT_URL}. A URL ending in `/api/v1` (as `bundlegate start` prints it) is accepted too.
 * @throws GW_ERR_CLI_USAGE when it is not an http(s) URL.
 */
export function resolveBaseUrl(value: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const text = value ?? (env.BUNDLEGATE_URL || DEFAULT_URL)
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw createError('GW_ERR_CLI_USAGE', [`--url must be an http:// or https:// URL, got "${text}"`])
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw createError('GW_ERR_CLI_USAGE', [`--url must be an http:// or https:// URL, got "${text}"`])
  if (url.search || url.hash) throw createError('GW_ERR_CLI_USAGE', [`--url takes no query, got "${text}"`])
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}`
}

/** `--timeout` in ms. @throws GW_ERR_CLI_USAGE when it is not a positive integer. */
export function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TIMEOUT_MS
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw createError('GW_ERR_CLI_USAGE', [`--timeout must be a positive number of ms, got "${value}"`])
  return Number(value)
}

/** An answer of the web service. */
export interface ApiResponse {
  status: number
  /** The reason phrase (`OK`, `Unauthorized`, …). */
  reason: string
  /** The parsed JSON body; the text when it is not JSON; undefined when there is no body. */
  body: unknown
}

/**
 * Calls `<base>/api/v1<resource>` with the token in the `mx-api-token` header and the JSON `body` (text, already
 * checked) when given. Redirects are not followed: a 3xx is an answer like any other.
 * @throws GW_ERR_CLI_HTTP when the web service cannot be reached or does not answer within `timeoutMs`.
 */
export async function callApi(
  base: string,
  method: string,
  resource: string,
  options: { token?: string | undefined; body?: string | undefined; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.token !== undefined) headers['mx-api-token'] = options.token
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const init: RequestInit = options.body === undefined ? { headers } : { headers, body: options.body }
  return fetchApi(base, method, resource, init, options.timeoutMs ?? DEFAULT_TIMEOUT_MS)
}

/**
 * The one HTTP exchange of every CLI call: `<base>/api/v1<resource>` with `init` (headers, body), redirects not
 * followed, the answer read whole and parsed as JSON when it is JSON.
 * @throws GW_ERR_CLI_HTTP when the web service cannot be reached or does not answer within `timeoutMs`.
 */
export async function fetchApi(
  base: string,
  method: string,
  resource: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<ApiResponse> {
  let res: Response
  let text: string
  try {
    res = await fetch(`${base}/api/v1${resource}`, {
      ...init,
      method,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    })
    text = await res.text()
  } catch (err) {
    throw createError('GW_ERR_CLI_HTTP', [base, reasonOf(err, timeoutMs)], { cause: err })
  }
  let body: unknown
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  return { status: res.status, reason: res.statusText || STATUS_CODES[res.status] || '', body }
}

/** Prints `<status> <reason>` then the body (pretty JSON); only the body with `json`. Nothing for an empty body. */
export function printResponse(io: CliIo, res: ApiResponse, json: boolean): void {
  if (!json) line(io.out, `${res.status} ${res.reason}`.trimEnd())
  if (res.body === undefined) return
  line(io.out, typeof res.body === 'string' ? res.body : JSON.stringify(res.body, null, 2))
}

/** The CLI's exit code for an answer: 0 for 2xx and 3xx, 1 otherwise. */
export function exitCodeOf(res: ApiResponse): number {
  return res.status >= 200 && res.status < 400 ? 0 : 1
}

/** "connect ECONNREFUSED 127.0.0.1:1" rather than fetch's bare "fetch failed". */
function reasonOf(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: unknown }
  if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`
  const cause = e.cause as (Error & { code?: string }) | undefined
  if (cause instanceof Error) {
    if (cause.message) return cause.message
    if (cause.code) return cause.code
    // an AggregateError (every address of a name refused) has no message of its own
    const inner = (cause as Error & { errors?: Error[] }).errors?.[0]
    if (inner?.message) return inner.message
  }
  return e.message
}
