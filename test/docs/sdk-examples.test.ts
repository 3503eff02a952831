/**
 * docs/sdk.md, run as written: every ```ts / ```js block carries a `<!-- sdk-example -->` marker and is followed by
 * a ```text block with what it prints. Each example is written to `<repo>/.tmp/` (inside the package, so that
 * `import … from 'bundlegate'` resolves to this checkout through the `bundlegate-dev` condition), run with tsx, and
 * its stdout compared with the text block, line by line (trimmed). An unmarked ts/js block fails the test.
 */

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { REPO_ROOT } from '../helpers/processes.ts'

const PAGE = join(REPO_ROOT, 'docs', 'sdk.md')
const TMP = join(REPO_ROOT, '.tmp')
const MARKER = /^<!--\s*sdk-example\s*-->\s*$/
const RUNNABLE = new Set(['ts', 'typescript', 'mts', 'js', 'mjs', 'javascript'])
const TIMEOUT_MS = 30_000

interface Fence {
  line: number
  lang: string
  body: string
  marked: boolean
}

function parseFences(markdown: string): Fence[] {
  const lines = markdown.split('\n')
  const fences: Fence[] = []
  let marked = false
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string
    if (MARKER.test(text)) {
      marked = true
      continue
    }
    const open = /^```(.*)$/.exec(text)
    if (open) {
      const start = i
      const body: string[] = []
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(lines[i] as string)
      if (i >= lines.length) throw new Error(`sdk.md line ${start + 1}: fence never closed`)
      fences.push({ line: start + 1, lang: (open[1] as string).trim(), body: `${body.join('\n')}\n`, marked })
      marked = false
      continue
    }
    if (marked && text.trim() !== '')
      throw new Error(`sdk.md line ${i}: marker not followed by a fenced block`)
  }
  return fences
}

/** The environment of an example: no gateway or broker configured in the shell, no test-runner leftovers. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(BUNDLEGATE_|BROKER_|BUNDLE_|SANJI_ENV$|LOG_LEVEL$|NODE_TEST_CONTEXT$|NODE_OPTIONS$)/i.test(k))
      continue
    env[k] = v
  }
  return { ...env, LOG_LEVEL: 'silent' }
}

function run(
  file: string,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=bundlegate-dev', '--import', 'tsx', file], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
      killSignal: 'SIGKILL',
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString()
    })
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString()
    })
    child.once('error', (err) => resolve({ code: null, signal: null, stdout, stderr: `${stderr}${err}` }))
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')

const fences = parseFences(readFileSync(PAGE, 'utf8'))
const examples = fences.flatMap((f, i) => (f.marked ? [{ fence: f, output: fences[i + 1] }] : []))

test('every ts/js block of docs/sdk.md is a marked example with its output after it', () => {
  const unmarked = fences.filter((f) => RUNNABLE.has(f.lang) && !f.marked).map((f) => `line ${f.line}`)
  assert.deepEqual(unmarked, [], 'ts/js blocks without <!-- sdk-example -->')
  assert.ok(examples.length > 0, 'no examples found')
  for (const { fence, output } of examples) {
    assert.ok(RUNNABLE.has(fence.lang), `sdk.md line ${fence.line}: a marked block must be ts or js`)
    assert.equal(
      output?.lang,
      'text',
      `sdk.md line ${fence.line}: expected a text block with the output after it`,
    )
  }
})

// Two at a time: each is a tsx process compiling the SDK; ten at once on a 2-core machine under load ran past the timeout.
test('the examples of docs/sdk.md print what the page shows', { concurrency: 2 }, async (t) => {
  await mkdir(TMP, { recursive: true })
  const files: string[] = []
  try {
    await Promise.all(
      examples.map(({ fence, output }, n) =>
        t.test(`sdk.md line ${fence.line}`, async () => {
          const ext = /^(js|mjs|javascript)$/.test(fence.lang) ? 'js' : 'ts'
          const file = join(TMP, `sdk-example-${process.pid}-${n}.${ext}`)
          files.push(file)
          await writeFile(file, fence.body)
          const r = await run(file)
          const where = `sdk.md line ${fence.line}`
          assert.equal(
            r.signal,
            null,
            `${where}: killed by ${r.signal} (timeout ${TIMEOUT_MS} ms)\n${r.stderr}`,
          )
          assert.equal(r.code, 0, `${where}: exit code ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
          assert.deepEqual(lines(r.stdout), lines(output?.body ?? ''), `${where}: output differs`)
        }),
      ),
    )
  } finally {
    await Promise.all(files.map((f) => rm(f, { force: true })))
  }
})
