/**
 * Files in bundles (issue 16, wire-protocol.md §7): the typed view of an uploaded file a request carries
 * (`message.file`, `message.files`), and `bundle.files.put()`, which publishes a file on the gateway's file service
 * and returns the URL a caller downloads it from with its own token.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { basename } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createError } from '../errors.ts'
import { isObject, type Json } from '../protocol/index.ts'

/** An uploaded file, as the upload helper hands it to a bundle (`data.file` / `data.files.<field>`). */
export interface IncomingFile {
  /** Where the gateway serves it (needs a token). */
  readonly url: string
  /** The stored file on this device (`physicalPath`); read it, do not write or move it. */
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** The original file name (the base name of `path` when the sender gave none). */
  readonly name: string
  /** Size in bytes, when the sender said. */
  readonly size: number | undefined
  /** The media type the uploader gave. */
  readonly type: string
  /** SHA-256 (hex), when the sender said. */
  readonly sha256: string | undefined
  /** The content as a stream. */
  stream(): Readable
  /** The whole content. */
  read(): Promise<Buffer>
  /** The whole content as UTF-8 text. */
  text(): Promise<string>
}

/** Where a file is uploaded to: the download helper's `{url, headers}` (§7), or a gateway URL and a token. */
export interface UploadTarget {
  url: string
  headers: Record<string, string>
}

/** Options of {@link BundleFiles.put}. */
export interface PutOptions {
  /** The file name callers see. @default the base name of the path, else 'file.bin' */
  name?: string
  /** @default 'application/octet-stream' */
  type?: string
  /**
   * Where to upload. Default: the download helper's target when called while answering such a request
   * (`message.upload`), else `BUNDLEGATE_URL` + `/api/v1/files` with the token `BUNDLEGATE_TOKEN`.
   */
  upload?: UploadTarget
}

const strings = (v: unknown): Record<string, string> =>
  isObject(v as Json)
    ? Object.fromEntries(Object.entries(v as object).filter(([, x]) => typeof x === 'string'))
    : {}

function incoming(v: unknown): IncomingFile | undefined {
  if (!isObject(v as Json)) return undefined
  const f = v as Record<string, unknown>
  if (typeof f.physicalPath !== 'string') return undefined
  const path = f.physicalPath
  return {
    url: typeof f.url === 'string' ? f.url : '',
    path,
    headers: strings(f.headers),
    name: typeof f.name === 'string' ? f.name : basename(path),
    size: typeof f.size === 'number' ? f.size : undefined,
    type: typeof f.type === 'string' ? f.type : 'application/octet-stream',
    sha256: typeof f.sha256 === 'string' ? f.sha256 : undefined,
    stream: () => createReadStream(path),
    read: () => readFile(path),
    text: () => readFile(path, 'utf8'),
  }
}

/** The file fields of a request message, read from its data (§7 shapes). */
export function fileFields(data: Json | undefined): {
  file?: IncomingFile
  files?: Readonly<Record<string, IncomingFile>>
  upload?: UploadTarget
} {
  if (!isObject(data as Json)) return {}
  const d = data as Record<string, unknown>
  const out: { file?: IncomingFile; files?: Record<string, IncomingFile>; upload?: UploadTarget } = {}
  const file = incoming(d.file)
  if (file) out.file = file
  if (isObject(d.files as Json)) {
    const files: Record<string, IncomingFile> = {}
    for (const [k, v] of Object.entries(d.files as object)) {
      const f = incoming(v)
      if (f) files[k] = f
    }
    out.files = files
    const first = Object.values(files)[0]
    if (!out.file && first) out.file = first
  }
  if (typeof d.url === 'string' && /^https?:\/\//.test(d.url) && isObject(d.headers as Json))
    out.upload = { url: d.url, headers: strings(d.headers) }
  return out
}

const current = new AsyncLocalStorage<UploadTarget | undefined>()

/** Runs a request handler with its upload target at hand, for {@link BundleFiles.put}. */
export function withUploadTarget<T>(target: UploadTarget | undefined, fn: () => T): T {
  return current.run(target, fn)
}

function targetFromEnv(env: NodeJS.ProcessEnv): UploadTarget | undefined {
  const base = env.BUNDLEGATE_URL
  const token = env.BUNDLEGATE_TOKEN
  if (!base || !token) return undefined
  return { url: `${base.replace(/\/+$/, '')}/api/v1/files`, headers: { 'mx-api-token': token } }
}

function readAnswer(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    res.setEncoding('utf8')
    res.on('data', (c: string) => {
      if (text.length < 65_536) text += c
    })
    res.on('end', () => resolve(text))
    res.on('error', reject)
  })
}

/** A bundle's access to the gateway's file service (`this.files`). */
export class BundleFiles {
  readonly #env: NodeJS.ProcessEnv

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env
  }

  /**
   * Uploads a file (a path or a stream) to the file service and returns its download URL, relative to the gateway
   * (`/api/v1/files/<id>`): a caller fetches it with its own token. Throws GW_ERR_FILE_PUBLISH when there is no
   * upload target or the gateway refuses (the message carries the gateway's answer).
   */
  async put(source: string | Readable, options: PutOptions = {}): Promise<string> {
    const target = options.upload ?? current.getStore() ?? targetFromEnv(this.#env)
    if (!target) {
      throw createError('GW_ERR_FILE_PUBLISH', [
        'no upload target: answer a download-helper request, pass `upload`, or set BUNDLEGATE_URL and BUNDLEGATE_TOKEN',
      ])
    }
    const name = options.name ?? (typeof source === 'string' ? basename(source) : 'file.bin')
    const url = new URL(target.url)
    url.searchParams.set('name', name)
    url.searchParams.set('type', options.type ?? 'application/octet-stream')
    const headers: Record<string, string> = {
      ...target.headers,
      'content-type': 'application/octet-stream',
    }
    if (typeof source === 'string') headers['content-length'] = String((await stat(source)).size)
    const body = typeof source === 'string' ? createReadStream(source) : source
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest
    const req = send(url, { method: 'POST', headers })
    const answer = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve)
      req.once('error', reject)
    })
    try {
      await Promise.all([pipeline(body, req), answer])
    } catch (err) {
      // an early refusal (413, 507) closes the connection while we still send: its answer is the better error
      const res = await Promise.race([
        answer,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 50)),
      ]).catch(() => undefined)
      if (!res) throw createError('GW_ERR_FILE_PUBLISH', [(err as Error).message], { cause: err })
    }
    const res = await answer
    const text = await readAnswer(res)
    let parsed: { url?: unknown; message?: unknown } = {}
    try {
      parsed = JSON.parse(text) as typeof parsed
    } catch {}
    if (res.statusCode !== 201 || typeof parsed.url !== 'string') {
      const why = typeof parsed.message === 'string' ? parsed.message : text.slice(0, 200)
      throw createError('GW_ERR_FILE_PUBLISH', [`the gateway answered ${res.statusCode}: ${why}`])
    }
    return parsed.url
  }
}
