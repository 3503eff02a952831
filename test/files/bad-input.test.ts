/**
 * Hostile uploads (issue 16 item 4), over real sockets on a real gateway: a thousand parts, parts without a file
 * name, `../` and NUL in names, a body over the limit (413 while the client is still sending), the quota, a full
 * disk (a real small tmpfs: 507), a client that stalls (408), a wrong content type (415). Each one gets
 * `{message, code}` and leaves no file, visible or partial.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { startGateway } from '../../src/server.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { smallFsOrSkip } from '../reliability/small-fs.ts'

const TIMEOUT = { timeout: 60_000 }
const BOUNDARY = 'bgTestBoundary7MA4YWxkTrZu0gW'

function part(field: string, filename: string | undefined, content: string | Buffer): Buffer {
  const disp =
    filename === undefined
      ? `form-data; name="${field}"`
      : `form-data; name="${field}"; filename="${filename}"`
  return Buffer.concat([
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: ${disp}\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    Buffer.from(content),
    Buffer.from('\r\n'),
  ])
}

function multipartBody(parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)])
}

const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`

/** Where nothing may be left after a refused upload: the store's files and its temp directory. */
async function assertNothingStored(gw: { files: { list(): unknown[] }; dataDir: string }, what: string) {
  assert.deepEqual(gw.files.list(), [], `${what}: no visible file`)
  const dir = join(gw.dataDir, 'files')
  assert.deepEqual((await readdir(join(dir, 'tmp'))).sort(), [], `${what}: no partial file`)
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n !== 'tmp'),
    [],
    `${what}: nothing on disk`,
  )
}

async function post(url: string, token: string, type: string | undefined, body: Buffer | string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'mx-api-token': token, ...(type ? { 'content-type': type } : {}) },
    body,
  })
  const text = await res.text()
  return { status: res.status, body: JSON.parse(text) as { message: string; code: string } }
}

/** A raw HTTP request whose body the test writes by hand; `answer` resolves with the first response bytes. */
function rawRequest(
  httpUrl: string,
  head: string,
): { socket: Socket; answer: Promise<string>; closed: Promise<void> } {
  const u = new URL(httpUrl)
  const socket = connect(Number(u.port), u.hostname)
  socket.write(head)
  let text = ''
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      if (text.includes('\r\n\r\n') && /\}$/.test(text)) resolve(text)
    })
    socket.on('close', () => resolve(text))
  })
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  return { socket, answer, closed }
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1])
}

function codeOf(answer: string): string {
  return (JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string }).code
}

test(
  'a thousand parts, parts without a file name, ../ and NUL in names, a wrong content type: 4xx, nothing kept',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway()
    after(() => gw.close())
    const url = `${gw.httpUrl}/api/v1/files`
    const tok = gw.rootToken

    const thousand = multipartBody(
      Array.from({ length: 1000 }, (_, i) => part(`f${i}`, `f${i}.txt`, `part ${i}`)),
    )
    let r = await post(url, tok, MULTIPART, thousand)
    assert.equal(r.status, 413)
    assert.equal(r.body.code, 'GW_ERR_FILE_TOO_MANY_PARTS')
    assert.match(r.body.message, /more than 20 parts/)
    await assertNothingStored(gw, 'a thousand parts')
    // the same through the upload helper: nothing reaches a bundle (there is none: it would be 404 after storing)
    r = await post(`${gw.httpUrl}/api/v1/helper/upload?resource=/nobody`, tok, MULTIPART, thousand)
    assert.equal(r.status, 413)
    await assertNothingStored(gw, 'a thousand parts (helper)')

    r = await post(
      url,
      tok,
      MULTIPART,
      multipartBody([part('ok', 'ok.txt', 'fine'), part('nofile', undefined, 'x')]),
    )
    assert.equal(r.status, 400)
    assert.equal(r.body.code, 'GW_ERR_FILE_NO_FILE')
    assert.match(r.body.message, /part 'nofile' has no file name/)
    await assertNothingStored(gw, 'a part without a file name (after a good one)')
    r = await post(url, tok, MULTIPART, multipartBody([part('empty', '', 'x')]))
    assert.equal(r.status, 400)
    await assertNothingStored(gw, 'an empty file name')
    r = await post(url, tok, MULTIPART, multipartBody([]))
    assert.equal(r.status, 400)
    assert.equal(r.body.code, 'GW_ERR_FILE_NO_FILE')

    for (const name of [
      '../../etc/passwd',
      '..',
      'a/b.txt',
      'c:\\\\x.txt',
      'nul\u0000byte.txt',
      'cr\rlf.txt',
      'x'.repeat(256),
    ]) {
      r = await post(url, tok, MULTIPART, multipartBody([part('f', name, 'evil')]))
      assert.equal(r.status, 400, JSON.stringify(name))
      // a raw CR breaks the part's header line itself: busboy then sees no file name at all
      const expected = name.includes('\r') ? /^GW_ERR_FILE_(NAME|NO_FILE)$/ : /^GW_ERR_FILE_NAME$/
      assert.match(r.body.code, expected, JSON.stringify(name))
      r = await post(`${url}?name=${encodeURIComponent(name)}`, tok, 'application/octet-stream', 'evil')
      assert.equal(r.status, 400, `raw ${JSON.stringify(name)}`)
      assert.equal(r.body.code, 'GW_ERR_FILE_NAME')
    }
    await assertNothingStored(gw, 'bad names')

    for (const type of ['text/plain', 'application/json', 'application/x-www-form-urlencoded', undefined]) {
      r = await post(url, tok, type, type === 'application/json' ? '{}' : 'abc')
      assert.equal(r.status, 415, String(type))
      assert.equal(r.body.code, 'GW_ERR_FILE_MEDIA_TYPE')
    }
    await assertNothingStored(gw, 'wrong content types')
    // a truncated multipart body: 400, nothing kept
    const cut = multipartBody([part('f', 'cut.txt', 'abcdef')]).subarray(0, 150)
    r = await post(url, tok, MULTIPART, cut)
    assert.equal(r.status, 400)
    await assertNothingStored(gw, 'a truncated body')
  },
)

test(
  'a body over the limit is refused with 413 while the client is still sending; the quota gives 507',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway({ files: { maxFileBytes: 65_536, quotaBytes: 100_000 } })
    after(() => gw.close())
    const tok = gw.rootToken
    const u = new URL(gw.httpUrl)
    const host = `${u.hostname}:${u.port}`

    // declared too large: refused before the body is read
    let req = rawRequest(
      gw.httpUrl,
      `POST /api/v1/files?name=big.bin HTTP/1.1\r\nHost: ${host}\r\nmx-api-token: ${tok}\r\ncontent-type: application/octet-stream\r\ncontent-length: 10485760\r\n\r\n`,
    )
    let answer = await req.answer
    assert.equal(statusOf(answer), 413)
    assert.equal(codeOf(answer), 'GW_ERR_FILE_TOO_LARGE')
    await req.closed
    // chunked, no length: 413 once 64 KiB are passed, while the body is still open
    for (const [path, type, first] of [
      ['/api/v1/files?name=big.bin', 'application/octet-stream', Buffer.alloc(0)],
      ['/api/v1/files', MULTIPART, part('f', 'big.bin', '').subarray(0, -2)],
    ] as const) {
      req = rawRequest(
        gw.httpUrl,
        `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nmx-api-token: ${tok}\r\ncontent-type: ${type}\r\ntransfer-encoding: chunked\r\n\r\n`,
      )
      const chunk = (b: Buffer) =>
        req.socket.write(`${b.length.toString(16)}\r\n${b.toString('latin1')}\r\n`, 'latin1')
      if (first.length) chunk(first)
      let sent = 0
      let done = false
      void req.answer.then(() => {
        done = true
      })
      while (!done && sent < 1_048_576) {
        chunk(Buffer.alloc(16_384, 0x61))
        sent += 16_384
        await new Promise((r) => setTimeout(r, 5))
      }
      answer = await req.answer
      assert.equal(statusOf(answer), 413, `${type}: ${answer}`)
      assert.equal(codeOf(answer), 'GW_ERR_FILE_TOO_LARGE')
      assert.ok(sent < 1_048_576, `answered after ${sent} bytes, before the body ended`)
      t.diagnostic(`${type}: 413 after ${sent} bytes sent (limit 65536)`)
      await req.closed
      await waitFor(() => gw.files.list().length === 0)
      assert.deepEqual(await readdir(join(gw.dataDir, 'files', 'tmp')), [], 'the partial file is removed')
    }

    // the quota: a second 60 KB file does not fit into 100 000 bytes
    const body = Buffer.alloc(60_000, 0x62)
    let r = await post(`${gw.httpUrl}/api/v1/files?name=one.bin`, tok, 'application/octet-stream', body)
    assert.equal(r.status, 201)
    r = await post(`${gw.httpUrl}/api/v1/files?name=two.bin`, tok, 'application/octet-stream', body)
    assert.equal(r.status, 507)
    assert.equal(r.body.code, 'GW_ERR_FILE_QUOTA')
    r = await post(`${gw.httpUrl}/api/v1/files`, tok, MULTIPART, multipartBody([part('f', 'two.bin', body)]))
    assert.equal(r.status, 507)
    assert.equal(r.body.code, 'GW_ERR_FILE_QUOTA')
    assert.equal(gw.files.list().length, 1)
    assert.deepEqual(await readdir(join(gw.dataDir, 'files', 'tmp')), [])
  },
)

test('a client that stalls mid-upload gets 408 and its partial file is removed', TIMEOUT, async (t) => {
  const after = lifo(t)
  const gw = await startTestGateway({ files: { stallTimeoutMs: 400 } })
  after(() => gw.close())
  const u = new URL(gw.httpUrl)
  for (const [path, type, start] of [
    ['/api/v1/files?name=slow.bin', 'application/octet-stream', Buffer.alloc(5000, 0x63)],
    [
      '/api/v1/files',
      MULTIPART,
      Buffer.concat([part('f', 'slow.bin', '').subarray(0, -2), Buffer.alloc(5000, 0x63)]),
    ],
  ] as const) {
    const req = rawRequest(
      gw.httpUrl,
      `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nmx-api-token: ${gw.rootToken}\r\ncontent-type: ${type}\r\ncontent-length: 100000\r\n\r\n`,
    )
    req.socket.write(start)
    // the partial file exists while the client stalls ...
    const tmp = join(gw.dataDir, 'files', 'tmp')
    await waitFor(() => readdirSync(tmp).length === 1, 5000, 'the partial file')
    const answer = await req.answer
    assert.equal(statusOf(answer), 408, answer)
    assert.equal(codeOf(answer), 'GW_ERR_FILE_TIMEOUT')
    await req.closed
    // ... and is gone after the timeout
    assert.deepEqual(await readdir(join(gw.dataDir, 'files', 'tmp')), [])
    assert.deepEqual(gw.files.list(), [])
  }
})

test(
  'a disk that fills during the upload: 507, the partial file removed, the store usable again',
  TIMEOUT,
  async (t) => {
    const fs = await smallFsOrSkip(t, 4 * 1024 * 1024)
    if (!fs) return
    const after = lifo(t)
    after(() => fs.close())
    const dataDir = fs.dir
    const gw = await startGateway(
      await loadConfig({
        env: {},
        flags: {
          broker: { host: '127.0.0.1', port: 0 },
          http: { host: '127.0.0.1', port: 0 },
          data: { dir: dataDir, tokenFile: join(dataDir, 'mx-api-token') },
          log: { level: 'silent' },
        },
      }),
    )
    after(() => gw.close())
    const tok = (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim()
    const url = `${gw.httpUrl}/api/v1/files`
    const big = Buffer.alloc(8 * 1024 * 1024, 0x64)
    let r = await post(`${url}?name=big.bin`, tok, 'application/octet-stream', big)
    assert.equal(r.status, 507)
    assert.equal(r.body.code, 'GW_ERR_FILE_DISK_FULL')
    assert.deepEqual(await readdir(join(dataDir, 'files', 'tmp')), [], 'the partial file is removed')
    assert.deepEqual(gw.files.list(), [])
    r = await post(url, tok, MULTIPART, multipartBody([part('f', 'big.bin', big)]))
    assert.equal(r.status, 507)
    assert.equal(r.body.code, 'GW_ERR_FILE_DISK_FULL')
    assert.deepEqual(await readdir(join(dataDir, 'files', 'tmp')), [])
    // space came back (the partial files were removed): a small upload works
    r = await post(`${url}?name=small.txt`, tok, 'application/octet-stream', 'small')
    assert.equal(r.status, 201)
  },
)

test(
  'a client that disconnects mid-upload leaves no file; a jsonData field over the limit is 413',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway({ files: { maxFieldBytes: 1024 } })
    after(() => gw.close())
    const u = new URL(gw.httpUrl)
    const tmp = join(gw.dataDir, 'files', 'tmp')
    for (const [path, type, start] of [
      ['/api/v1/files?name=gone.bin', 'application/octet-stream', Buffer.alloc(50_000, 0x65)],
      [
        '/api/v1/files',
        MULTIPART,
        Buffer.concat([part('f', 'gone.bin', '').subarray(0, -2), Buffer.alloc(50_000, 0x65)]),
      ],
    ] as const) {
      const req = rawRequest(
        gw.httpUrl,
        `POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nmx-api-token: ${gw.rootToken}\r\ncontent-type: ${type}\r\ncontent-length: 1000000\r\n\r\n`,
      )
      req.socket.write(start)
      await waitFor(() => readdirSync(tmp).length === 1, 5000, 'the partial file')
      req.socket.destroy()
      await waitFor(() => readdirSync(tmp).length === 0, 5000, 'the partial file to be removed')
      assert.deepEqual(gw.files.list(), [])
    }
    const form = multipartBody([
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="jsonData"\r\n\r\n{"k":"${'x'.repeat(2000)}"}\r\n`,
      ),
      part('f', 'a.txt', 'a'),
    ])
    const r = await post(`${gw.httpUrl}/api/v1/helper/upload?resource=/x`, gw.rootToken, MULTIPART, form)
    assert.equal(r.status, 413)
    assert.equal(r.body.code, 'GW_ERR_FILE_FIELD_TOO_LARGE')
    assert.deepEqual(gw.files.list(), [])
  },
)
