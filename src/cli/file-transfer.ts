/**
 * Files in `bundlegate call` (issue 16): `--file F` sends F as multipart/form-data (field `file`; `--data` JSON goes
 * along as the form field `jsonData`, as the upload helper expects, wire-protocol.md §7), streamed from disk; `-o F`
 * writes a successful answer's body into F (a download) instead of printing it.
 * @module
 */
import { createWriteStream, openAsBlob } from 'node:fs'
import { rm } from 'node:fs/promises'
import { STATUS_CODES } from 'node:http'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { createError } from '../errors.ts'
import type { ApiResponse } from './web-client.ts'

/** What {@link transfer} sends and where the answer goes. */
export interface TransferOptions {
  token: string | undefined
  timeoutMs: number
  /** The file to upload (multipart field `file`). */
  file?: string | undefined
  /** JSON text sent with the file as form field `jsonData`, or as the body without a file. */
  data?: string | undefined
  /** Where a 2xx answer's body is written. */
  output?: string | undefined
}

async function formOf(file: string, data: string | undefined): Promise<FormData> {
  let blob: Blob
  try {
    blob = await openAsBlob(file)
  } catch (err) {
    throw createError('GW_ERR_CLI_USAGE', [`cannot read --file ${file}: ${(err as Error).message}`], {
      cause: err,
    })
  }
  const form = new FormData()
  if (data !== undefined) form.append('jsonData', data)
  form.append('file', blob, basename(file))
  return form
}

/**
 * One call with a file going up and/or the answer going into a file. A non-2xx answer is never written to
 * `output`: it is returned (JSON) to be printed like any other.
 * @throws GW_ERR_CLI_HTTP when the web service cannot be reached or the output file cannot be written.
 */
export async function transfer(
  base: string,
  method: string,
  resource: string,
  options: TransferOptions,
): Promise<ApiResponse & { saved?: { path: string; bytes: number } }> {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers['mx-api-token'] = options.token
  let body: FormData | string | undefined
  if (options.file !== undefined) body = await formOf(options.file, options.data)
  else if (options.data !== undefined) {
    body = options.data
    headers['content-type'] = 'application/json'
  }
  let res: Response
  try {
    res = await fetch(`${base}/api/v1${resource}`, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(body === undefined ? {} : { body }),
    })
  } catch (err) {
    throw createError('GW_ERR_CLI_HTTP', [base, (err as Error).message], { cause: err })
  }
  const reason = res.statusText || STATUS_CODES[res.status] || ''
  if (options.output !== undefined && res.ok) {
    let bytes = 0
    try {
      const source = res.body ? Readable.fromWeb(res.body as WebReadableStream) : Readable.from([])
      source.on('data', (c: Buffer) => {
        bytes += c.length
      })
      await pipeline(source, createWriteStream(options.output))
    } catch (err) {
      await rm(options.output, { force: true }).catch(() => {})
      throw createError('GW_ERR_CLI_HTTP', [
        base,
        `cannot save to ${options.output}: ${(err as Error).message}`,
      ])
    }
    return { status: res.status, reason, body: undefined, saved: { path: options.output, bytes } }
  }
  const text = await res.text()
  let parsed: unknown
  if (text !== '') {
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = text
    }
  }
  return { status: res.status, reason, body: parsed }
}
