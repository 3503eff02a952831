/**
 * The original web layer's file helpers (wire-protocol.md §7, issue 16), end to end: a real gateway, the
 * examples/config-backup bundle as its own process (upload → the bundle reads `message.file`; download → the bundle
 * publishes with `this.files.put` and the caller fetches the link with its token), and in-process SDK bundles that
 * show the exact payload shapes the bundle receives.
 */
import assert from 'node:assert/strict'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createBundle, type Json, type RequestMessage } from '../../src/index.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { REPO_ROOT, spawnExample } from '../helpers/processes.ts'

const BACKUP_DIR = join(REPO_ROOT, 'examples', 'config-backup')
const TIMEOUT = { timeout: 60_000 }

async function copyBackupDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-config-backup-'))
  await mkdir(join(dir, 'data'))
  await copyFile(join(BACKUP_DIR, 'bundle.json'), join(dir, 'bundle.json'))
  await copyFile(join(BACKUP_DIR, 'data', 'config.json.factory'), join(dir, 'data', 'config.json.factory'))
  return dir
}

function form(files: Array<[string, string, string, string?]>, jsonData?: unknown): FormData {
  const fd = new FormData()
  if (jsonData !== undefined) fd.append('jsonData', JSON.stringify(jsonData))
  for (const [field, name, content, type] of files)
    fd.append(field, new Blob([content], type ? { type } : {}), name)
  return fd
}

test(
  '[WP-51] §7 upload and download helpers with the config-backup example bundle as a real process',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway()
    after(() => gw.close())
    const dir = await copyBackupDir()
    after(() => rm(dir, { recursive: true, force: true }))
    const bundle = spawnExample({ brokerUrl: gw.brokerUrl, dir, entry: join(BACKUP_DIR, 'index.ts') })
    after(() => bundle.stop())
    await bundle.ready
    const h = { 'mx-api-token': gw.rootToken }
    const api = `${gw.httpUrl}/api/v1`

    // upload: the bundle reads the stored file through message.file and imports it
    const config = { hostname: 'edge-7', ntp: { enabled: false, servers: [] }, note: 'ünïcode' }
    let res = await fetch(`${api}/helper/upload?resource=/config-backup/import`, {
      method: 'POST',
      headers: h,
      body: form([['file', 'my-config.json', JSON.stringify(config), 'application/json']]),
    })
    const imported = (await res.json()) as { imported: string; config: unknown }
    assert.equal(res.status, 200, JSON.stringify(imported))
    assert.deepEqual(imported, { imported: 'my-config.json', config })
    res = await fetch(`${api}/config-backup`, { headers: h })
    assert.deepEqual(await res.json(), config)

    // a file the bundle refuses: its code and {message}; the stored upload is removed again
    const before = gw.files.list().length
    res = await fetch(`${api}/helper/upload?resource=/config-backup/import`, {
      method: 'PUT',
      headers: h,
      body: form([['file', 'broken.json', '{not json']]),
    })
    const refused = (await res.json()) as { message: string; code: string }
    assert.equal(res.status, 400)
    assert.match(refused.message, /broken\.json is not JSON/)
    assert.equal(refused.code, 'GW_ERR_BUNDLE_ERROR')
    assert.equal(gw.files.list().length, before)

    // download: the bundle uploads the export with the one-time ticket; the caller fetches the link with its token
    const reader = await fetch(`${api}/tokens`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'reader', scope: 'read' }),
    })
    const readToken = ((await reader.json()) as { token: string }).token
    const writer = await fetch(`${api}/tokens`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'writer', scope: 'readwrite' }),
    })
    const writeToken = ((await writer.json()) as { token: string }).token
    res = await fetch(`${api}/helper/download?resource=/config-backup/export`, {
      headers: { 'mx-api-token': writeToken },
    })
    const link = (await res.json()) as { downloadLink: string }
    assert.equal(res.status, 200, JSON.stringify(link))
    assert.match(link.downloadLink, /^\/api\/v1\/files\/[0-9a-f]{32}$/)
    // a read token may download the file (but may not use the download helper, which makes the bundle POST)
    res = await fetch(`${gw.httpUrl}${link.downloadLink}`, { headers: { 'mx-api-token': readToken } })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-disposition') ?? '', /filename="config-backup\.json"/)
    assert.equal(res.headers.get('content-type'), 'application/json')
    assert.deepEqual(JSON.parse(await res.text()), config)
    res = await fetch(`${gw.httpUrl}${link.downloadLink}`)
    assert.equal(res.status, 401)
    res = await fetch(`${api}/helper/download?resource=/config-backup/export`, {
      headers: { 'mx-api-token': readToken },
    })
    assert.equal(res.status, 403)
    assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_SCOPE')
    res = await fetch(`${api}/helper/upload?resource=/config-backup/import`, {
      method: 'POST',
      headers: { 'mx-api-token': readToken },
      body: form([['file', 'c.json', '{}']]),
    })
    assert.equal(res.status, 403)
  },
)

test(
  '§7 payload shapes: data.file {url, physicalPath, headers}, data.files by field, jsonData merged, tickets used once',
  TIMEOUT,
  async (t) => {
    const after = lifo(t)
    const gw = await startTestGateway()
    after(() => gw.close())
    const seen: RequestMessage[] = []
    const contents: string[] = []
    let ticketHeaders: Record<string, string> = {}
    let uploadUrl = ''
    const resources = [
      { resource: '/shape/upload', methods: ['post', 'put'] },
      { resource: '/shape/download', methods: ['post'] },
      { resource: '/remote/cg-gw_1', methods: ['post', 'put'] },
    ]
    const b = createBundle({
      manifest: { name: 'shape', version: '1.0.0', description: 'shape', role: 'model', ttl: 10, resources },
      brokerUrl: gw.brokerUrl,
      signals: false,
    })
    b.post('/shape/upload', async (m) => {
      seen.push(m)
      for (const f of Object.values(m.files ?? (m.file ? { file: m.file } : {})))
        contents.push(await f.text())
      return { got: m.data as Json }
    })
    b.put('/shape/upload', async (m) => {
      seen.push(m)
      return { code: 'nope' } // 200 with a body of its own choosing
    })
    b.post('/shape/download', async (m) => {
      seen.push(m)
      const d = m.data as { url: string; headers: Record<string, string> }
      ticketHeaders = d.headers
      uploadUrl = d.url
      return { url: await b.files.put(join(REPO_ROOT, 'package.json'), { type: 'application/json' }) }
    })
    b.post('/remote/cg-gw_1', (m) => {
      seen.push(m)
      const inner = m.data as { resource: string; data: { url?: string; headers?: Record<string, string> } }
      if (inner.resource === '/shape/download') {
        // a remote gateway would upload with inner.data.{url, headers}; here: the nested answer with a link
        const ok =
          typeof inner.data.url === 'string' && inner.data.headers?.['mx-api-token']?.startsWith('bgup_')
        return { code: ok ? 200 : 400, data: { url: `/api/v1/files/${'f'.repeat(32)}` } }
      }
      return { code: 201, data: { remote: true, inner: m.data as Json } }
    })
    await b.start()
    after(() => b.stop())
    const h = { 'mx-api-token': gw.rootToken }
    const api = `${gw.httpUrl}/api/v1`

    let res = await fetch(`${api}/helper/upload?resource=/shape/upload`, {
      method: 'POST',
      headers: h,
      body: form([['anything', 'a.csv', 'x,y\n1,2\n', 'text/csv']], { note: 'hi', file: 'forged' }),
    })
    const one = (await res.json()) as { got: Record<string, unknown> }
    assert.equal(res.status, 200, JSON.stringify(one))
    const file = one.got.file as Record<string, unknown>
    assert.equal(one.got.note, 'hi')
    assert.deepEqual(Object.keys(file).slice(0, 3), ['url', 'physicalPath', 'headers'])
    assert.match(String(file.url), /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/files\/[0-9a-f]{32}$/)
    assert.equal(file.physicalPath, gw.files.pathOf(String(file.id)))
    assert.equal(
      JSON.stringify(file.headers).includes(gw.rootToken),
      false,
      'the caller token never reaches a bundle',
    )
    assert.equal(await readFile(String(file.physicalPath), 'utf8'), 'x,y\n1,2\n')
    assert.equal(seen[0]?.file?.name, 'a.csv')
    assert.equal(seen[0]?.file?.type, 'text/csv')
    assert.equal(contents[0], 'x,y\n1,2\n')

    res = await fetch(`${api}/helper/upload?resource=/shape/upload`, {
      method: 'POST',
      headers: h,
      body: form([
        ['first', 'one.txt', '1'],
        ['second', 'two.txt', '22'],
      ]),
    })
    const two = (await res.json()) as { got: { files: Record<string, { size: number }> } }
    assert.equal(res.status, 200)
    assert.deepEqual(Object.keys(two.got.files), ['first', 'second'])
    assert.equal(two.got.files.second?.size, 2)
    assert.deepEqual(contents.slice(1), ['1', '22'])

    res = await fetch(`${api}/helper/upload?resource=/shape/upload`, {
      method: 'PUT',
      headers: h,
      body: form([['f', 'p.txt', 'p']]),
    })
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { code: 'nope' })

    // jsonData that is not a JSON object: 400, nothing reaches the bundle, nothing stays stored
    const stored = gw.files.list().length
    const n = seen.length
    const bad = new FormData()
    bad.append('jsonData', '[1,2]')
    bad.append('f', new Blob(['z']), 'z.txt')
    res = await fetch(`${api}/helper/upload?resource=/shape/upload`, {
      method: 'POST',
      headers: h,
      body: bad,
    })
    assert.equal(res.status, 400)
    assert.equal(seen.length, n)
    assert.equal(gw.files.list().length, stored)

    // no resource: 400 {"message": "No resource"}
    res = await fetch(`${api}/helper/download`, { headers: h })
    assert.equal(res.status, 400)
    assert.deepEqual(await res.json(), { message: 'No resource', code: 'GW_ERR_FILE_NO_RESOURCE' })
    res = await fetch(`${api}/helper/upload`, { method: 'POST', headers: h, body: form([['f', 'a', 'b']]) })
    assert.equal(res.status, 400)
    // the controller's own resources stay admin-only through the helpers too
    const rw = await fetch(`${api}/tokens`, {
      method: 'POST',
      headers: { ...h, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'rw', scope: 'readwrite' }),
    })
    const rwToken = ((await rw.json()) as { token: string }).token
    res = await fetch(`${api}/helper/download?resource=/controller/registration`, {
      headers: { 'mx-api-token': rwToken },
    })
    assert.equal(res.status, 403)

    // download: POST <r> with {url, headers}; a ticket, never the caller's token; answer {downloadLink}
    res = await fetch(`${api}/helper/download?resource=/shape/download`, { headers: h })
    const dl = (await res.json()) as { downloadLink: string }
    assert.equal(res.status, 200, JSON.stringify(dl))
    assert.match(uploadUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/files\/upload$/)
    assert.match(ticketHeaders['mx-api-token'] ?? '', /^bgup_/)
    assert.notEqual(ticketHeaders['mx-api-token'], gw.rootToken)
    res = await fetch(`${gw.httpUrl}${dl.downloadLink}`, { headers: h })
    assert.equal(await res.text(), await readFile(join(REPO_ROOT, 'package.json'), 'utf8'))
    // the ticket was used up by the bundle's upload
    res = await fetch(`${uploadUrl}?name=again.txt`, {
      method: 'POST',
      headers: { ...ticketHeaders, 'content-type': 'application/octet-stream' },
      body: 'again',
    })
    assert.equal(res.status, 401)
    assert.equal(((await res.json()) as { code: string }).code, 'GW_ERR_FILE_TICKET')

    // the remote form wraps the same payload (§7): /remote/cg-<id> gets {resource, method, data}
    res = await fetch(`${api}/cg-gw_1/helper/upload?resource=/shape/upload`, {
      method: 'POST',
      headers: h,
      body: form([['f', 'r.txt', 'remote']], { k: 1 }),
    })
    const remote = (await res.json()) as {
      remote: boolean
      inner: { resource: string; method: string; data: { k: number; file: { physicalPath: string } } }
    }
    assert.equal(res.status, 201, JSON.stringify(remote))
    assert.equal(remote.inner.resource, '/shape/upload')
    assert.equal(remote.inner.method, 'post')
    assert.equal(remote.inner.data.k, 1)
    assert.equal(await readFile(remote.inner.data.file.physicalPath, 'utf8'), 'remote')
    res = await fetch(`${api}/cg-gw_1/helper/download?resource=/shape/download`, { headers: h })
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { downloadLink: `/api/v1/files/${'f'.repeat(32)}` })
    res = await fetch(`${api}/cg-bad-id/helper/download?resource=/shape/download`, { headers: h })
    assert.equal(res.status, 404)
  },
)
