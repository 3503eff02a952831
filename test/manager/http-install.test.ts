/**
 * `POST /api/v1/bundles` with real tarballs and bundle processes (issue 15 "Install"; docs/manager.md "HTTP API and
 * CLI"): a bundle directory packed as the CLI packs it, streamed, installed and answering; 409 naming the owner of
 * a resource (a bundle started by hand, an installed one); a hostile tarball 400 with nothing written; a streamed
 * body over `manager.uploadMaxBytes` 413 with nothing installed; downgrades only on request; `start=false`.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { packBundle } from '../../src/cli/pack-bundle.ts'
import { silentLogger } from '../../src/logger.ts'
import { createBundle, type FunctionalBundle } from '../../src/sdk/index.ts'
import { startTestGateway } from '../helpers/gateway.ts'
import { writeTestBundle } from '../helpers/managed-bundle-dir.ts'
import { manifestJson, rawTarGz } from '../helpers/raw-tar.ts'

type Gw = Awaited<ReturnType<typeof startTestGateway>>
type Answer = {
  status: number
  body: { message: string; code: string; managed?: { state: string; version: string } }
}

const parent = await mkdtemp(join(tmpdir(), 'bg-mgrinstall-'))
after(() => rm(parent, { recursive: true, force: true }))

/** Streams `body` to `POST /api/v1/bundles<query>` as application/gzip (chunked: no Content-Length). */
async function upload(gw: Gw, body: Readable | Buffer, query = ''): Promise<Answer> {
  const stream = body instanceof Readable ? body : Readable.from([body])
  const res = await fetch(`${gw.httpUrl}/api/v1/bundles${query}`, {
    method: 'POST',
    headers: { 'mx-api-token': gw.rootToken, 'content-type': 'application/gzip' },
    body: Readable.toWeb(stream) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit)
  return { status: res.status, body: (await res.json()) as Answer['body'] }
}

async function get(gw: Gw, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${gw.httpUrl}/api/v1${path}`, { headers: { 'mx-api-token': gw.rootToken } })
  return { status: res.status, body: await res.json() }
}

/** Every name under `dir`, recursively (nothing must appear there after a refusal). */
async function tree(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return []
  return (await readdir(dir, { recursive: true })).map(String).sort()
}

describe('installing over HTTP', () => {
  let gw: Gw
  let byHand: FunctionalBundle

  before(async () => {
    gw = await startTestGateway({ manager: { uploadMaxBytes: 256 * 1024 } })
    byHand = createBundle({
      manifest: {
        name: 'owner',
        version: '1.0.0',
        description: 'started by hand',
        role: 'model',
        ttl: 5,
        resources: [{ resource: '/taken', methods: ['get'] }],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
    })
    byHand.get('/taken', () => ({ mine: true }))
    await byHand.start()
  })
  after(async () => {
    await byHand.stop()
    await gw.close()
  })

  test('a packed bundle directory, streamed: 201, running, its resource answers', async () => {
    const dir = await writeTestBundle(parent, { name: 'tarred' })
    const r = await upload(gw, await packBundle(dir))
    assert.equal(r.status, 201, JSON.stringify(r.body))
    assert.equal(r.body.managed?.version, '1.0.0')
    assert.ok(['starting', 'running'].includes(r.body.managed?.state ?? ''), r.body.managed?.state)
    for (let i = 0; i < 400 && gw.manager.get('tarred')?.state !== 'running'; i++)
      await new Promise((res) => setTimeout(res, 50))
    const answer = await get(gw, '/tarred')
    assert.equal(answer.status, 200)
    assert.equal((answer.body as { name: string }).name, 'tarred')
  })

  test('409 when a resource collides, naming the owner: a bundle started by hand, an installed one', async () => {
    const before = await tree(join(gw.dataDir, 'bundles'))
    const hand = await upload(
      gw,
      await packBundle(await writeTestBundle(parent, { name: 'thief', resource: '/taken' })),
    )
    assert.equal(hand.status, 409, JSON.stringify(hand.body))
    assert.equal(hand.body.code, 'GW_ERR_MANAGER_CONFLICT')
    assert.match(hand.body.message, /'owner'/)
    const installed = await upload(
      gw,
      await packBundle(await writeTestBundle(parent, { name: 'thief-two', resource: '/tarred' })),
    )
    assert.equal(installed.status, 409, JSON.stringify(installed.body))
    assert.match(installed.body.message, /'tarred'/)
    assert.equal(gw.manager.get('thief'), undefined)
    assert.equal(gw.manager.get('thief-two'), undefined)
    assert.deepEqual(await tree(join(gw.dataDir, 'bundles')), before, 'nothing placed')
    assert.equal(((await get(gw, '/taken')).body as { mine: boolean }).mine, true, 'the owner still answers')
  })

  test('a hostile tarball (../ entry) is 400 and nothing is written anywhere', async () => {
    const before = await tree(gw.dataDir)
    const r = await upload(
      gw,
      rawTarGz([
        { name: 'bundle.json', data: manifestJson('hostile') },
        { name: '../../escaped.txt', data: 'owned' },
      ]),
    )
    assert.equal(r.status, 400, JSON.stringify(r.body))
    assert.equal(r.body.code, 'GW_ERR_MANAGER_TARBALL_ENTRY')
    assert.match(r.body.message, /escaped\.txt/)
    assert.equal(existsSync(join(gw.dataDir, '..', 'escaped.txt')), false)
    assert.equal(existsSync(join(gw.dataDir, 'escaped.txt')), false)
    assert.deepEqual(await tree(gw.dataDir), before, 'no file added or left behind in the data directory')
    assert.equal(gw.manager.get('hostile'), undefined)
  })

  test('a streamed body over manager.uploadMaxBytes is 413, nothing installed, the gateway answers', async () => {
    // incompressible: the gzip'ed tar is about as large as the file in it
    const body = rawTarGz([
      { name: 'bundle.json', data: manifestJson('huge') },
      { name: 'blob.bin', data: randomBytes(600 * 1024) },
    ])
    assert.ok(body.length > 256 * 1024)
    const chunks = Array.from({ length: Math.ceil(body.length / 16_384) }, (_, i) =>
      body.subarray(i * 16_384, (i + 1) * 16_384),
    )
    const r = await upload(gw, Readable.from(chunks)).catch((err: Error) => err)
    if (r instanceof Error) assert.fail(`no answer: ${r.message}`)
    assert.equal(r.status, 413)
    assert.equal(r.body.code, 'GW_ERR_MANAGER_TARBALL_TOO_LARGE')
    assert.equal(gw.manager.get('huge'), undefined)
    assert.equal((await get(gw, '/bundles/tarred')).status, 200)
  })

  test('a downgrade is 409 unless allowDowngrade=true; start=false installs without starting', async () => {
    const v2 = await upload(
      gw,
      await packBundle(await writeTestBundle(parent, { name: 'versioned', version: '2.0.0' })),
    )
    assert.equal(v2.status, 201, JSON.stringify(v2.body))
    const v1dir = await writeTestBundle(parent, { name: 'versioned', version: '1.0.0' })
    const refused = await upload(gw, await packBundle(v1dir))
    assert.equal(refused.status, 409)
    assert.equal(refused.body.code, 'GW_ERR_MANAGER_DOWNGRADE')
    assert.equal(gw.manager.get('versioned')?.version, '2.0.0')
    const allowed = await upload(gw, await packBundle(v1dir), '?allowDowngrade=true')
    assert.equal(allowed.status, 201, JSON.stringify(allowed.body))
    assert.equal(allowed.body.managed?.version, '1.0.0')
    const idle = await upload(
      gw,
      await packBundle(await writeTestBundle(parent, { name: 'later' })),
      '?start=false',
    )
    assert.equal(idle.status, 201)
    assert.equal(idle.body.managed?.state, 'installed')
  })
})
