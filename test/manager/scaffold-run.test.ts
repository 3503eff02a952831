/**
 * A fresh `bundlegate create` scaffold runs with `bundlegate run` before any `npm install`: its `import
 * 'bundlegate'` resolves to the gateway's own package through the resolve hook (src/process/bundlegate-resolve.ts).
 * Before the hook it died with a raw ERR_MODULE_NOT_FOUND stack.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { test } from 'node:test'
import { createCommand } from '../../src/cli/commands/create.ts'
import { runCommand } from '../../src/cli/commands/run.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { getJson } from '../helpers/managed-bundles.ts'

test('bundlegate run of a fresh scaffold without npm install registers and answers', async (t) => {
  const defer = lifo(t)
  const parent = await mkdtemp(join(tmpdir(), 'bg-scaffold-'))
  defer(() => rm(parent, { recursive: true, force: true }))
  const sink = new PassThrough()
  let said = ''
  sink.on('data', (c: Buffer) => {
    said += c.toString()
  })
  assert.equal(await createCommand(['fresh', '--dir', parent], { out: sink, err: sink }), 0, said)
  const dir = join(parent, 'fresh')
  assert.equal(existsSync(join(dir, 'node_modules')), false, 'no npm install')

  const gw = await startTestGateway()
  defer(() => gw.close())
  const ac = new AbortController()
  let ended: number | undefined
  const done = runCommand(
    [dir, '--broker', gw.brokerUrl],
    { out: sink, err: sink },
    { signal: ac.signal },
  ).then((c) => {
    ended = c
    return c
  })
  defer(async () => {
    ac.abort()
    await done
  })
  await waitFor(
    () => ended !== undefined || gw.controller.core.components().some((c) => c.name === 'fresh'),
    30_000,
    'the scaffold to register',
  )
  assert.equal(ended, undefined, `the scaffold exited:\n${said}`)
  assert.doesNotMatch(said, /ERR_MODULE_NOT_FOUND/)
  const r = await getJson(gw, '/fresh')
  assert.equal(r.status, 200, JSON.stringify(r.body))
})
