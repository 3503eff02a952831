/**
 * The SDK side of files (issue 16): `message.file`/`files`/`upload` from the §7 payload shapes, and
 * `BundleFiles.put()` against a real gateway: with a token from the environment, refused by the gateway (its message
 * surfaces), and without any upload target.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { test } from 'node:test'
import { BundleFiles, GatewayError } from '../../src/index.ts'
import { fileFields } from '../../src/sdk/files.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'

test('fileFields reads data.file, data.files and the download target; other shapes are ignored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bg-sdk-files-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'x.csv')
  await writeFile(path, 'a,b\n')
  const one = fileFields({ file: { url: 'http://h/f', physicalPath: path, headers: { a: 'b', n: 1 } } })
  assert.equal(one.file?.name, 'x.csv', 'the base name of the path when no name is given')
  assert.equal(one.file?.type, 'application/octet-stream')
  assert.deepEqual(one.file?.headers, { a: 'b' })
  assert.equal(await one.file?.text(), 'a,b\n')
  const many = fileFields({
    files: { second: { physicalPath: path, name: 'n.csv', size: 4 }, bad: { url: 'x' } },
  })
  assert.deepEqual(Object.keys(many.files ?? {}), ['second'])
  assert.equal(many.file?.name, 'n.csv')
  assert.deepEqual(fileFields({ file: 'not an object' }), {})
  assert.deepEqual(fileFields(null), {})
  assert.deepEqual(
    fileFields({ url: 'http://h/api/v1/files/upload', headers: { 'mx-api-token': 't' } }).upload,
    {
      url: 'http://h/api/v1/files/upload',
      headers: { 'mx-api-token': 't' },
    },
  )
  assert.equal(fileFields({ url: 'file:///etc/passwd', headers: {} }).upload, undefined)
})

test('put() uploads with BUNDLEGATE_URL and BUNDLEGATE_TOKEN; a refusal and a missing target reject with GW_ERR_FILE_PUBLISH', async (t) => {
  const after = lifo(t)
  const gw = await startTestGateway({ files: { maxFileBytes: 1000 } })
  after(() => gw.close())
  const files = new BundleFiles({ BUNDLEGATE_URL: gw.httpUrl, BUNDLEGATE_TOKEN: gw.rootToken })
  const url = await files.put(Readable.from([Buffer.from('hello')]), { name: 'h.txt', type: 'text/plain' })
  assert.match(url, /^\/api\/v1\/files\/[0-9a-f]{32}$/)
  const res = await fetch(`${gw.httpUrl}${url}`, { headers: { 'mx-api-token': gw.rootToken } })
  assert.equal(res.headers.get('content-type'), 'text/plain')
  assert.equal(await res.text(), 'hello')

  const big = files.put(Readable.from([Buffer.alloc(5000)]), { name: 'big.bin' })
  await assert.rejects(big, (err: unknown) => {
    assert.ok(err instanceof GatewayError)
    assert.equal(err.code, 'GW_ERR_FILE_PUBLISH')
    assert.match(err.message, /413|exceeds 1000 bytes/)
    return true
  })
  await assert.rejects(new BundleFiles({}).put(Readable.from(['x'])), /no upload target/)
  const badToken = new BundleFiles({ BUNDLEGATE_URL: gw.httpUrl, BUNDLEGATE_TOKEN: 'bgt_wrong' })
  await assert.rejects(badToken.put(Readable.from(['x'])), /401/)
  assert.equal(gw.files.list().length, 1)
})
