/**
 * Tarballs written byte by byte (ustar headers by hand), so that tests can build what no tar library will: `../x`,
 * absolute paths, links out of the tree, devices, FIFOs, pax headers that rename an entry, lying sizes.
 * @module
 */
import { gzipSync } from 'node:zlib'

/** One tar entry. `type` is the ustar typeflag: '0' file, '2' symlink, '1' hard link, '3' char device, '5' dir… */
export interface RawEntry {
  name: string
  type?: string
  mode?: number
  /** File data; its length is the header's size unless `size` says otherwise. */
  data?: Buffer | string
  /** The size written in the header (to lie about it). */
  size?: number
  linkname?: string
  /** pax records (`path`, `size`, …) written as an extended header before the entry. */
  pax?: Record<string, string>
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(value.toString(8).padStart(length - 1, '0') + '\0', offset, length, 'latin1')
}

/** One 512-byte ustar header with a valid checksum. */
export function tarHeader(e: {
  name: string
  type: string
  mode: number
  size: number
  linkname?: string | undefined
}): Buffer {
  const b = Buffer.alloc(512)
  b.write(e.name, 0, 100, 'utf8')
  octal(b, 100, 8, e.mode)
  octal(b, 108, 8, 0)
  octal(b, 116, 8, 0)
  octal(b, 124, 12, e.size)
  octal(b, 136, 12, 1_700_000_000)
  b.write('        ', 148, 8, 'latin1')
  b.write(e.type, 156, 1, 'latin1')
  if (e.linkname) b.write(e.linkname, 157, 100, 'utf8')
  b.write('ustar\u000000', 257, 8, 'latin1')
  let sum = 0
  for (const byte of b) sum += byte
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
  return b
}

function padded(data: Buffer): Buffer {
  const rest = data.length % 512
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)])
}

function paxBody(records: Record<string, string>): Buffer {
  let out = ''
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`
    let len = body.length + 1
    while (String(len).length + body.length !== len) len = String(len).length + body.length
    out += len + body
  }
  return Buffer.from(out, 'utf8')
}

/** The tar stream of `entries`, with the two closing zero blocks unless `end` is false. */
export function rawTar(entries: RawEntry[], end = true): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    if (e.pax) {
      const body = paxBody(e.pax)
      parts.push(tarHeader({ name: 'PaxHeader', type: 'x', mode: 0o644, size: body.length }), padded(body))
    }
    const data = Buffer.from(e.data ?? '')
    const type = e.type ?? '0'
    const mode = e.mode ?? (type === '5' ? 0o755 : 0o644)
    parts.push(tarHeader({ name: e.name, type, mode, size: e.size ?? data.length, linkname: e.linkname }))
    if (data.length > 0) parts.push(padded(data))
  }
  if (end) parts.push(Buffer.alloc(1024))
  return Buffer.concat(parts)
}

/** `rawTar` gzip'ed. */
export function rawTarGz(entries: RawEntry[]): Buffer {
  return gzipSync(rawTar(entries))
}

/** A minimal valid bundle.json. */
export function manifestJson(name = 'tarball-test', version = '1.0.0'): string {
  return JSON.stringify({
    name,
    version,
    main: 'index.js',
    priority: 99,
    dependencies: {},
    role: 'model',
    ttl: 60,
    resources: [{ methods: ['get'], resource: `/${name}` }],
  })
}
