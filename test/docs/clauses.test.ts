import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const spec = join(root, 'docs', 'spec', 'wire-protocol.md')

/** Clauses of the checklist that belong to the web service (its own issue), not to the core. */
const WEB_SERVICE = new Set([48, 49, 50])

async function testFiles(): Promise<string[]> {
  const out: string[] = []
  for (const area of await readdir(join(root, 'test'), { withFileTypes: true })) {
    if (!area.isDirectory()) continue
    for (const f of await readdir(join(root, 'test', area.name))) {
      if (f.endsWith('.test.ts')) out.push(join(root, 'test', area.name, f))
    }
  }
  return out
}

test('every core clause of the wire-protocol checklist (§9) is cited by at least one test', async () => {
  assert.ok(existsSync(spec), `the spec is missing at ${spec}`)
  const text = await readFile(spec, 'utf8')
  const checklist = text.slice(text.indexOf('## 9. Conformance checklist'))
  const clauses = [...checklist.matchAll(/^- \[WP-(\d+)\]/gm)].map((m) => Number(m[1]))
  assert.ok(clauses.length >= 60, `found ${clauses.length} clauses`)
  const cited = new Set<number>()
  for (const f of await testFiles()) {
    for (const m of (await readFile(f, 'utf8')).matchAll(/\[WP-(\d+)\]/g)) cited.add(Number(m[1]))
  }
  const missing = clauses.filter((c) => !WEB_SERVICE.has(c) && !cited.has(c))
  assert.deepEqual(missing, [], `clauses no test cites: ${missing.map((c) => `WP-${c}`).join(', ')}`)
})
