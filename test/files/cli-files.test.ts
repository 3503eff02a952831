/**
 * `bundlegate call … --file F` and `bundlegate call GET /files/<id> -o out.bin` (issue 16 item 5), against a real
 * gateway.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createBundle, type Json } from '../../src/index.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'

test('call --file uploads (to /files and through the upload helper with --data as jsonData); -o downloads', {
  timeout: 60_000,
}, async (t) => {
  const after = lifo(t)
  const gw = await startTestGateway()
  after(() => gw.close())
  const dir = await mkdtemp(join(tmpdir(), 'bg-cli-files-'))
  after(() => rm(dir, { recursive: true, force: true }))
  const input = join(dir, 'fw image.bin')
  const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256))
  await writeFile(input, content)
  const common = ['--url', gw.httpUrl, '--token', gw.rootToken]

  let run = await runCli(['call', 'POST', '/files', '--file', input, '--json', ...common])
  assert.equal(run.code, 0, run.stdout + run.stderr)
  const view = JSON.parse(run.stdout) as { id: string; name: string; size: number }
  assert.equal(view.name, 'fw image.bin')
  assert.equal(view.size, content.length)

  const out = join(dir, 'out.bin')
  run = await runCli(['call', 'GET', `/files/${view.id}`, '-o', out, ...common])
  assert.equal(run.code, 0, run.stdout + run.stderr)
  assert.match(run.stdout, /^200 OK\nsaved 300000 bytes to /)
  assert.deepEqual(await readFile(out), content)

  const missing = join(dir, 'missing.bin')
  run = await runCli(['call', 'GET', `/files/${'0'.repeat(32)}`, '-o', missing, ...common])
  assert.equal(run.code, 1)
  assert.match(run.stdout, /404 Not Found[\s\S]*GW_ERR_FILE_NOT_FOUND/)
  assert.equal(existsSync(missing), false, 'an error answer is printed, not saved')

  const resources = [{ resource: '/cli/import', methods: ['post'] }]
  const b = createBundle({
    manifest: { name: 'cli-import', version: '1.0.0', description: 'x', role: 'model', ttl: 10, resources },
    brokerUrl: gw.brokerUrl,
    signals: false,
  })
  b.post('/cli/import', async (m) => ({
    note: (m.data as { note?: Json }).note ?? null,
    size: (await m.file?.read())?.length ?? -1,
  }))
  await b.start()
  after(() => b.stop())
  run = await runCli([
    'call',
    'POST',
    '/helper/upload?resource=/cli/import',
    '--file',
    input,
    '--data',
    '{"note":"from the cli"}',
    '--json',
    ...common,
  ])
  assert.equal(run.code, 0, run.stdout + run.stderr)
  assert.deepEqual(JSON.parse(run.stdout), { note: 'from the cli', size: 300_000 })

  run = await runCli(['call', 'POST', '/files', '--file', join(dir, 'nope.bin'), ...common])
  assert.notEqual(run.code, 0)
  assert.match(run.stderr, /cannot read --file/)
})
