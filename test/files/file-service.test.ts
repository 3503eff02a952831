/**
 * The file service under /api/v1/files (issue 16), over real HTTP on a real gateway: uploads (raw and multipart),
 * downloads with Content-Length, ETag (304), Range (206, 416) and HEAD, list, keep, delete, scopes [HA-5], and files
 * surviving a gateway restart on the same data directory.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/index.ts'
import { startGateway } from '../../src/server.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'

const TIMEOUT = { timeout: 60_000 }

async function token(api: string, root: string, scope: 'read' | 'readwrite'): Promise<string> {
  const res = await fetch(`${api}/tokens`, {
    method: 'POST',
    headers: { 'mx-api-token': root, 'content-type': 'application/json' },
    body: JSON.stringify({ description: scope, scope }),
  })
  return ((await res.json()) as { token: string }).token
}

interface View {
  id: string
  name: string
  size: number
  type: string
  sha256: string
  expiresAt: string | null
  url: string
}

test(
  'upload raw and multipart, download with Content-Length, ETag, Range, HEAD; list, keep, delete',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway()
    after(() => gw.close())
    const api = `${gw.httpUrl}/api/v1`
    const h = { 'mx-api-token': gw.rootToken }
    const content = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251))
    let res = await fetch(
      `${api}/files?name=${encodeURIComponent('données €.bin')}&type=application/x-test`,
      {
        method: 'POST',
        headers: { ...h, 'content-type': 'application/octet-stream' },
        body: content,
      },
    )
    const raw = (await res.json()) as View
    assert.equal(res.status, 201, JSON.stringify(raw))
    assert.equal(raw.name, 'données €.bin')
    assert.equal(raw.size, 5000)
    assert.equal(raw.type, 'application/x-test')
    assert.equal(raw.sha256, createHash('sha256').update(content).digest('hex'))
    assert.ok(raw.expiresAt !== null, 'an upload nobody keeps expires')
    assert.equal(raw.url, `/api/v1/files/${raw.id}`)

    res = await fetch(`${gw.httpUrl}${raw.url}`, { headers: h })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), '5000')
    assert.equal(res.headers.get('etag'), `"${raw.sha256}"`)
    assert.equal(res.headers.get('accept-ranges'), 'bytes')
    assert.equal(res.headers.get('content-type'), 'application/x-test')
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /^attachment; filename="donn_es _.bin"; filename\*=UTF-8''donn%C3%A9es%20%E2%82%AC\.bin$/,
    )
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), content)

    res = await fetch(`${gw.httpUrl}${raw.url}`, { headers: { ...h, 'if-none-match': `"${raw.sha256}"` } })
    assert.equal(res.status, 304)
    res = await fetch(`${gw.httpUrl}${raw.url}`, { headers: { ...h, range: 'bytes=100-199' } })
    assert.equal(res.status, 206)
    assert.equal(res.headers.get('content-range'), 'bytes 100-199/5000')
    assert.equal(res.headers.get('content-length'), '100')
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), content.subarray(100, 200))
    res = await fetch(`${gw.httpUrl}${raw.url}`, { headers: { ...h, range: 'bytes=-10' } })
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), content.subarray(4990))
    res = await fetch(`${gw.httpUrl}${raw.url}`, { headers: { ...h, range: 'bytes=4000-' } })
    assert.equal(res.headers.get('content-range'), 'bytes 4000-4999/5000')
    res = await fetch(`${gw.httpUrl}${raw.url}`, { headers: { ...h, range: 'bytes=6000-7000' } })
    assert.equal(res.status, 416)
    assert.equal(res.headers.get('content-range'), 'bytes */5000')
    assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_FILE_RANGE')
    // If-Range with another validator: the whole file
    res = await fetch(`${gw.httpUrl}${raw.url}`, {
      headers: { ...h, range: 'bytes=0-9', 'if-range': '"other"' },
    })
    assert.equal(res.status, 200)
    assert.equal((await res.arrayBuffer()).byteLength, 5000)
    res = await fetch(`${gw.httpUrl}${raw.url}`, { method: 'HEAD', headers: h })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), '5000')

    const fd = new FormData()
    fd.append('a', new Blob(['alpha'], { type: 'text/plain' }), 'a.txt')
    fd.append('b', new Blob([''], { type: 'text/plain' }), 'empty.txt')
    res = await fetch(`${api}/files`, { method: 'POST', headers: h, body: fd })
    const multi = (await res.json()) as { files: View[] }
    assert.equal(res.status, 201, JSON.stringify(multi))
    assert.deepEqual(
      multi.files.map((f) => [f.name, f.size, f.type]),
      [
        ['a.txt', 5, 'text/plain'],
        ['empty.txt', 0, 'text/plain'],
      ],
    )
    res = await fetch(`${gw.httpUrl}${multi.files[1]?.url}`, { headers: h })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-length'), '0')
    assert.equal(await res.text(), '')

    res = await fetch(`${api}/files`, { headers: h })
    assert.deepEqual(
      ((await res.json()) as View[]).map((f) => f.id).sort(),
      [raw.id, ...multi.files.map((f) => f.id)].sort(),
    )
    res = await fetch(`${api}/files/${raw.id}/info`, { headers: h })
    assert.equal(((await res.json()) as View).sha256, raw.sha256)

    res = await fetch(`${api}/files/${raw.id}`, {
      method: 'PUT',
      headers: { ...h, 'content-type': 'application/json' },
      body: JSON.stringify({ keep: true }),
    })
    assert.equal(((await res.json()) as View).expiresAt, null)
    res = await fetch(`${api}/files/${raw.id}`, { method: 'DELETE', headers: h })
    assert.equal(res.status, 204)
    for (const path of [raw.url, `/api/v1/files/${raw.id}/info`]) {
      res = await fetch(`${gw.httpUrl}${path}`, { headers: h })
      assert.equal(res.status, 404)
      assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_FILE_NOT_FOUND')
    }
    res = await fetch(`${api}/files/..%2F..%2Ftokens.db`, { headers: h })
    assert.equal(res.status, 404)
    res = await fetch(`${api}/files/${raw.id}`, { method: 'DELETE', headers: h })
    assert.equal(res.status, 404)
  },
)

test(
  '[HA-5] scopes: read lists and downloads; readwrite uploads, keeps and deletes; no token: 401',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway()
    after(() => gw.close())
    const api = `${gw.httpUrl}/api/v1`
    const read = await token(api, gw.rootToken, 'read')
    const rw = await token(api, gw.rootToken, 'readwrite')
    const up = (tok: string) =>
      fetch(`${api}/files?name=s.txt`, {
        method: 'POST',
        headers: { 'mx-api-token': tok, 'content-type': 'application/octet-stream' },
        body: 'scoped',
      })
    let res = await up(read)
    assert.equal(res.status, 403)
    assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_SCOPE')
    res = await up(rw)
    assert.equal(res.status, 201)
    const file = (await res.json()) as View
    res = await fetch(`${gw.httpUrl}${file.url}`, { headers: { 'mx-api-token': read } })
    assert.equal(await res.text(), 'scoped')
    res = await fetch(`${api}/files`, { headers: { 'mx-api-token': read } })
    assert.equal(res.status, 200)
    res = await fetch(`${api}/files/${file.id}`, { method: 'DELETE', headers: { 'mx-api-token': read } })
    assert.equal(res.status, 403)
    res = await fetch(`${api}/files/${file.id}`, {
      method: 'PUT',
      headers: { 'mx-api-token': read, 'content-type': 'application/json' },
      body: '{"keep":true}',
    })
    assert.equal(res.status, 403)
    for (const [method, path] of [
      ['GET', '/files'],
      ['GET', `/files/${file.id}`],
      ['POST', '/files'],
      ['DELETE', `/files/${file.id}`],
    ] as const) {
      res = await fetch(`${api}${path}`, { method })
      assert.equal(res.status, 401, `${method} ${path}`)
    }
    assert.equal(gw.files.list().length, 1)
    res = await fetch(`${api}/files/${file.id}`, { method: 'DELETE', headers: { 'mx-api-token': rw } })
    assert.equal(res.status, 204)
    assert.deepEqual(
      (await readdir(join(gw.dataDir, 'files'))).filter((n) => n !== 'tmp'),
      [],
      'nothing left on disk',
    )
  },
)

test('stored files survive a restart of the gateway on the same data directory', TIMEOUT, async (t) => {
  const after = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-files-restart-'))
  after(() => rm(dataDir, { recursive: true, force: true }))
  const start = async () =>
    startGateway(
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
  const first = await start()
  const h = { 'mx-api-token': (await readFile(join(dataDir, 'mx-api-token'), 'utf8')).trim() }
  const res = await fetch(`${first.httpUrl}/api/v1/files?name=keep.txt`, {
    method: 'POST',
    headers: { ...h, 'content-type': 'application/octet-stream' },
    body: 'still here',
  })
  const file = (await res.json()) as View
  await first.close()
  const second = await start()
  after(() => second.close())
  const again = await fetch(`${second.httpUrl}${file.url}`, { headers: h })
  assert.equal(await again.text(), 'still here')
  assert.deepEqual(second.files.get(file.id), first.files.get(file.id))
})
