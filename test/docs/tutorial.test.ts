/**
 * docs/tutorial.md, run as written: every fenced sh / ts / json block carries a `<!-- tutorial: … -->` marker that
 * says how this test runs it, every marked block is run, and an unmarked runnable block fails the test (no block
 * may go unexercised). The markers:
 *
 * - `gateway`: `npm ci && npm run build`, then `./bundlegate start` in the background. npm ci is not run (`npm test`
 *   builds before the unit tests; dist/cli/bin.js must exist), and the gateway gets `--http-port`/`--broker-port`
 *   (free ports) and `--data-dir`/`--token-file` (a temp directory): the tutorial's defaults, 8080, 1883 and
 *   /etc/mx-api-token (as root), belong to the machine and must never be touched by a test. The banner must match
 *   the one the page shows.
 * - `create`: bash in the checkout with HOME=<temp>/home (`~/bundles` lands in the temp directory), npm offline.
 * - `file <name>`: written to ~/bundles/thermo/<name>, then the bundle is type-checked with the repo's tsc.
 * - `test`: bash in ~/bundles/thermo (the bundle's own `npm test`).
 * - `run`: bash in ~/bundles/thermo in the background with BROKER_URL = the test gateway's broker, until the bundle
 *   registers; the log lines the page shows must be in its output, in the order the SDK guarantees.
 * - `call`: bash in a temp "checkout" whose `bundlegate` runs this repo's dist/cli/bin.js and whose `data` is the
 *   gateway's data directory (so `cat data/mx-api-token`, `bundlegate call`'s own token lookup and `bundlegate token
 *   create` see the test gateway's token file and tokens.db, as they see the real ones in a real checkout), with
 *   http://127.0.0.1:8080 rewritten to the test gateway and BUNDLEGATE_URL set. Shown output is compared.
 *
 * Every wait is bounded (30 s at most); the gateway and the bundle run in their own process groups and are stopped,
 * and the temp directory removed, whatever happens.
 */

import assert from 'node:assert/strict'
import { accessSync, constants, existsSync, readFileSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { freePort, REPO_ROOT } from '../helpers/processes.ts'
import {
  type Block,
  type GroupProcess,
  outputAfter,
  parseTutorial,
  runScript,
  type ScriptResult,
  startGroup,
  waitForOutput,
} from '../helpers/tutorial-blocks.ts'

const TUTORIAL = join(REPO_ROOT, 'docs', 'tutorial.md')
const CLI = join(REPO_ROOT, 'dist', 'cli', 'bin.js')
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const ETC_TOKEN = '/etc/mx-api-token'
/** The longest any single wait may take. */
const WAIT_MS = 30_000

/** Fences that hold something runnable: each needs a marker. */
const RUNNABLE = new Set([
  'sh',
  'bash',
  'shell',
  'zsh',
  'console',
  'ts',
  'typescript',
  'mts',
  'js',
  'mjs',
  'json',
])
/** The languages each marker kind accepts. */
const MARKER_LANGS: Record<string, readonly string[]> = {
  gateway: ['sh'],
  create: ['sh'],
  file: ['ts', 'json'],
  test: ['sh'],
  run: ['sh'],
  call: ['sh'],
}

/** The environment of every child: no leftovers of the test runner, npm, or a gateway configured in the shell. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    // npm_* (when run by `npm test`: npm_config_local_prefix would send the bundle's `npm install` to this repo),
    // the test runner's marker (a child `node --test` would report to us), BUNDLEGATE_*/BROKER_*/LOG_LEVEL.
    if (/^(npm_|NODE_TEST_CONTEXT$|NODE_OPTIONS$|BUNDLEGATE_|BROKER_|LOG_LEVEL$)/i.test(k)) continue
    env[k] = v
  }
  return {
    ...env,
    // the bundle's `npm install` only links this checkout (file:): no registry, no audit, no notices
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    ...extra,
  }
}

function describeBlock(b: Block): string {
  return `tutorial.md line ${b.line} (${b.marker ? `${b.marker.kind}${b.marker.arg ? ` ${b.marker.arg}` : ''}` : b.lang})`
}

function assertOk(b: Block, r: ScriptResult): void {
  assert.equal(
    r.code,
    0,
    `${describeBlock(b)} failed (exit ${r.code}, signal ${r.signal}):\n${b.body}--- stdout:\n${r.stdout}--- stderr:\n${r.stderr}`,
  )
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** The JSON objects among `text`'s lines. */
function jsonLines(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = []
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue
    try {
      out.push(JSON.parse(l) as Record<string, unknown>)
    } catch {
      // not a log line
    }
  }
  return out
}

test('docs/tutorial.md: every block runs and shows what it says', { timeout: 180_000 }, async (t) => {
  // ---------------------------------------------------------------------------------- preconditions
  assert.ok(
    existsSync(CLI),
    `${CLI} is missing: build first (npm run build; npm test builds before the unit tests)`,
  )
  let etcReadable = true
  try {
    accessSync(ETC_TOKEN, constants.R_OK)
  } catch {
    etcReadable = false
  }
  // The page reads /etc/mx-api-token before data/mx-api-token, and `bundlegate call` does too: a real root token
  // there would be used (and its gateway on 8080 is not ours). Never touch it: refuse to run.
  assert.ok(
    !etcReadable,
    `${ETC_TOKEN} exists and is readable${process.getuid?.() === 0 ? ' (running as root)' : ''}: the tutorial's ` +
      'call blocks would use that real root token; this test never touches it, run it where the file is absent',
  )
  const etcExisted = existsSync(ETC_TOKEN)
  const repoDataExisted = existsSync(join(REPO_ROOT, 'data'))

  // ---------------------------------------------------------------------------------- the page's blocks
  const blocks = parseTutorial(readFileSync(TUTORIAL, 'utf8'))
  for (const b of blocks) {
    assert.notEqual(b.lang, '', `${describeBlock(b)}: give the fence a language (text for shown output)`)
    if (b.marker) {
      const langs = MARKER_LANGS[b.marker.kind] ?? []
      assert.ok(
        langs.includes(b.lang),
        `${describeBlock(b)}: a ${b.marker.kind} marker takes ${langs.join('/')}`,
      )
    } else {
      assert.ok(
        !RUNNABLE.has(b.lang),
        `${describeBlock(b)} is a ${b.lang} block without a <!-- tutorial: … --> marker: every runnable block of the ` +
          'page must be exercised by this test (see its header for the markers)',
      )
    }
  }
  const marked = blocks.filter((b) => b.marker !== undefined)
  const kinds = marked.map((b) => b.marker?.kind)
  for (const k of ['gateway', 'create', 'file', 'run', 'call'])
    assert.ok(kinds.includes(k as never), `the tutorial has no ${k} block`)
  const ran = new Set<number>()
  const timings: string[] = []

  // ---------------------------------------------------------------------------------- temp world
  const tmp = await mkdtemp(join(tmpdir(), 'bundlegate-tutorial-'))
  const home = join(tmp, 'home')
  const state = join(tmp, 'state')
  const checkout = join(tmp, 'checkout')
  const bundleDir = join(home, 'bundles', 'thermo')
  const tokenFile = join(state, 'mx-api-token')
  const processes: GroupProcess[] = []
  t.after(async () => {
    for (const p of processes.reverse()) await p.stop()
    await rm(tmp, { recursive: true, force: true })
  })
  await mkdir(home)
  await mkdir(state)
  await mkdir(checkout)
  assert.ok(!/'/.test(process.execPath + CLI), 'paths with a single quote are not supported')
  await writeFile(join(checkout, 'bundlegate'), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`)
  await chmod(join(checkout, 'bundlegate'), 0o755)
  // `data` is the gateway's data directory: data/mx-api-token is its root token file, data/tokens.db its tokens
  await symlink(state, join(checkout, 'data'))

  const httpPort = await freePort()
  let brokerPort = await freePort()
  while (brokerPort === httpPort) brokerPort = await freePort()
  const httpUrl = `http://127.0.0.1:${httpPort}`
  const brokerUrl = `mqtt://127.0.0.1:${brokerPort}`
  const baseEnv = cleanEnv({ HOME: home })

  let gateway: GroupProcess | undefined
  let bundle: GroupProcess | undefined
  const callChecks = callExpectations(httpUrl)
  const usedChecks = new Set<string>()

  for (const block of marked) {
    const marker = block.marker!
    const started = Date.now()
    const where = describeBlock(block)
    switch (marker.kind) {
      case 'gateway': {
        const lines = block.body.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
        assert.equal(lines[0], 'npm ci && npm run build', `${where}: the test knows only this first line`)
        assert.equal(lines.length, 2, `${where}: expected the build line and one ./bundlegate start line`)
        const start = (lines[1] as string).trim().split(/\s+/)
        assert.deepEqual(
          start.slice(0, 2),
          ['./bundlegate', 'start'],
          `${where}: expected ./bundlegate start`,
        )
        // Free ports and a private data directory and token file: never 8080, 1883 or /etc/mx-api-token.
        const args = [
          ...start.slice(1),
          ...['--http-port', String(httpPort), '--broker-port', String(brokerPort)],
          ...['--data-dir', state, '--token-file', tokenFile],
        ]
        gateway = startGroup(join(REPO_ROOT, 'bundlegate'), args, { cwd: REPO_ROOT, env: baseEnv })
        processes.push(gateway)
        const g = gateway
        await waitForOutput(
          g,
          () => /^ {2}controller {2}.*$/m.test(g.stdout()),
          WAIT_MS,
          'the gateway banner',
        )
        const banner = outputAfter(blocks, block)
        assert.ok(banner, `${where}: expected the banner as a text block after it`)
        const real = g.stdout().split('\n')
        let at = 0
        for (const shown of banner.body.split('\n').filter((l) => l.trim() !== '')) {
          const pattern = escapeRegExp(shown)
            .replace(/\d+ ms/, '\\d+ ms')
            .replace(/instance [0-9a-f]+/, 'instance [0-9a-f]+')
            .replace(escapeRegExp('http://127.0.0.1:8080'), escapeRegExp(httpUrl))
            .replace(escapeRegExp('mqtt://127.0.0.1:1883'), escapeRegExp(brokerUrl))
            .replace(escapeRegExp(ETC_TOKEN), escapeRegExp(tokenFile))
          const re = new RegExp(`^${pattern}$`)
          const found = real.findIndex((l, i) => i >= at && re.test(l))
          assert.ok(
            found >= 0,
            `${where}: banner line "${shown}" not printed (in order); stdout:\n${g.stdout()}`,
          )
          at = found + 1
        }
        assert.ok(existsSync(tokenFile), `${where}: no root token file at ${tokenFile}`)
        break
      }
      case 'create': {
        const r = await runScript(block.body, { cwd: REPO_ROOT, env: baseEnv, timeoutMs: WAIT_MS })
        assertOk(block, r)
        assert.ok(existsSync(join(bundleDir, 'bundle.json')), `${where}: no bundle at ${bundleDir}`)
        assert.ok(
          existsSync(join(bundleDir, 'node_modules', 'bundlegate')),
          `${where}: bundlegate not installed`,
        )
        break
      }
      case 'file': {
        assert.ok(existsSync(bundleDir), `${where}: no bundle directory yet (a create block must come first)`)
        const name = marker.arg as string
        assert.match(name, /^[\w.-]+$/, `${where}: a plain file name, in the bundle directory`)
        if (block.lang === 'json') JSON.parse(block.body) // a clear failure for broken JSON
        await writeFile(join(bundleDir, name), block.body)
        const r = await runScript(`exec '${process.execPath}' '${TSC}' -p . --noEmit`, {
          cwd: bundleDir,
          env: baseEnv,
          timeoutMs: WAIT_MS,
        })
        assert.equal(r.code, 0, `${where}: the bundle does not type-check after it:\n${r.stdout}${r.stderr}`)
        break
      }
      case 'test': {
        const r = await runScript(block.body, { cwd: bundleDir, env: baseEnv, timeoutMs: WAIT_MS })
        assertOk(block, r)
        break
      }
      case 'run': {
        assert.ok(gateway?.running(), `${where}: the gateway must run first`)
        bundle = startGroup('bash', ['-e', '-o', 'pipefail', '-c', block.body], {
          cwd: bundleDir,
          env: { ...baseEnv, BROKER_URL: brokerUrl },
        })
        processes.push(bundle)
        const b = bundle
        await waitForOutput(
          b,
          () => b.output().includes('Register successfully thermo tunnel:'),
          WAIT_MS,
          'the bundle to register',
        )
        const shown = outputAfter(blocks, block)
        assert.ok(shown, `${where}: expected the log as a text block after it`)
        checkRunLog(where, shown.body, b.output(), brokerUrl)
        break
      }
      case 'call': {
        assert.ok(gateway?.running(), `${where}: the gateway must run`)
        assert.ok(bundle?.running(), `${where}: the bundle must run`)
        const script = block.body.replaceAll('http://127.0.0.1:8080', httpUrl)
        assert.ok(!/:8080|:1883/.test(script), `${where}: still names a default port after the rewrite`)
        assert.ok(
          !/\/etc\//.test(script.replaceAll(`cat ${ETC_TOKEN}`, '')),
          `${where}: touches /etc other than reading ${ETC_TOKEN}`,
        )
        const r = await runScript(script, {
          cwd: checkout,
          env: { ...baseEnv, BUNDLEGATE_URL: httpUrl },
          timeoutMs: WAIT_MS,
        })
        assertOk(block, r)
        const shown = outputAfter(blocks, block)
        if (shown) {
          // each printed body is the shown line, as JSON
          const printed = r.stdout.split('\n').filter((l) => l.trim() !== '')
          const expected = shown.body.split('\n').filter((l) => l.trim() !== '')
          assert.equal(
            printed.length,
            expected.length,
            `${where}: printed ${printed.length} lines, the page shows ${expected.length}:\n${r.stdout}`,
          )
          expected.forEach((e, i) => {
            assert.deepEqual(
              JSON.parse(printed[i] as string),
              JSON.parse(e),
              `${where}: output line ${i + 1}`,
            )
          })
        }
        const checks = callChecks.filter((c) => c.when.test(block.body))
        assert.ok(
          checks.length === 1 || (checks.length === 0 && shown),
          `${where}: ${checks.length} expectations match this call block; add one to callExpectations()`,
        )
        for (const c of checks) {
          await c.check(where, r.stdout, shown)
          usedChecks.add(c.name)
        }
        break
      }
    }
    ran.add(block.index)
    timings.push(`${where}: ${Date.now() - started} ms`)
  }

  // ---------------------------------------------------------------------------------- all of it, and nothing else
  assert.deepEqual(
    marked.filter((b) => !ran.has(b.index)).map(describeBlock),
    [],
    'marked blocks that did not run',
  )
  assert.equal(ran.size, marked.length)
  assert.deepEqual(
    callChecks.map((c) => c.name).filter((n) => !usedChecks.has(n)),
    [],
    'call expectations no block of the page matched (a block was removed or changed)',
  )
  assert.ok(gateway?.running(), 'the gateway stopped during the tutorial')
  assert.ok(bundle?.running(), 'the bundle stopped during the tutorial')
  assert.equal(existsSync(ETC_TOKEN), etcExisted, `${ETC_TOKEN} was created or removed`)
  assert.equal(existsSync(join(REPO_ROOT, 'data')), repoDataExisted, 'the checkout got a data/ directory')
  for (const l of timings) t.diagnostic(l)
})

/**
 * What the real log of the `run` block must show: every line of the page's log (same msg, level, bundle; url with
 * the test broker; tunnel any decimal number), in the page's order, except where the SDK does not fix the order:
 * the broker connection is made while init() runs, so "connection established" may come before or after
 * "custom init finish".
 */
function checkRunLog(where: string, shownText: string, output: string, brokerUrl: string): void {
  const shown = jsonLines(shownText)
  assert.ok(shown.length > 0, `${where}: the text block after it shows no JSON log line`)
  const real = jsonLines(output)
  const unordered = new Set([
    'custom init finish|connection established',
    'connection established|custom init finish',
  ])
  const positions: number[] = []
  for (const s of shown) {
    const found = real.findIndex((r) => {
      const tunnel = typeof s.tunnel === 'string' ? s.tunnel : undefined
      if (tunnel !== undefined && !(typeof r.tunnel === 'string' && /^\d+$/.test(r.tunnel))) return false
      const msg = tunnel === undefined ? s.msg : String(s.msg).replaceAll(tunnel, r.tunnel as string)
      if (r.msg !== msg) return false
      return Object.entries(s).every(([k, v]) => {
        if (k === 'msg' || k === 'tunnel') return true
        if (k === 'url') return r.url === String(v).replace('mqtt://127.0.0.1:1883', brokerUrl)
        return r[k] === v
      })
    })
    assert.ok(found >= 0, `${where}: the log has no line like ${JSON.stringify(s)}; output:\n${output}`)
    positions.push(found)
  }
  for (let i = 0; i < shown.length; i++) {
    for (let j = i + 1; j < shown.length; j++) {
      if (unordered.has(`${shown[i]?.msg}|${shown[j]?.msg}`)) continue
      assert.ok(
        (positions[i] as number) < (positions[j] as number),
        `${where}: "${shown[i]?.msg}" is logged after "${shown[j]?.msg}", the page shows the opposite; output:\n${output}`,
      )
    }
  }
}

/** What each `call` block without shown output must print, found by the commands it runs. */
function callExpectations(httpUrl: string): Array<{
  name: string
  when: RegExp
  check: (where: string, stdout: string, shown: Block | undefined) => void | Promise<void>
}> {
  return [
    {
      name: 'curl with the root token',
      when: /curl .*mx-api-token: \$TOKEN/,
      check: (where, _out, shown) =>
        assert.ok(shown, `${where}: expected the printed bodies as a text block after it`),
    },
    {
      name: 'bundlegate call and bundles',
      when: /bundlegate bundles/,
      check: (where, out) => {
        assert.equal(out.match(/^200 OK$/gm)?.length, 2, `${where}: two 200 answers expected:\n${out}`)
        assert.match(out, /"sensor": "outdoor",\s+"value": 4.25/, where)
        assert.match(out, /"key": "kitchen",\s+"unit": "f"/, where)
        assert.match(
          out,
          /^thermo\s+model\s+online\s+60s\s+\/thermo get,put\b/m,
          `${where}: bundles:\n${out}`,
        )
      },
    },
    {
      name: 'wrong input',
      when: /\/thermo\/attic/,
      check: (where, out) => {
        assert.match(out, /^404 Not Found$/m, `${where}:\n${out}`)
        assert.match(out, /"message": "no sensor 'attic'"/, `${where}:\n${out}`)
        assert.match(out, /^400 Bad Request$/m, `${where}:\n${out}`)
        assert.match(out, /must have required property 'key'/, `${where}:\n${out}`)
        assert.match(out, /"code":"GW_ERR_AUTH_REQUIRED"\} 401$/m, `${where}: curl without a token:\n${out}`)
      },
    },
    {
      name: 'token create',
      when: /bundlegate token create/,
      check: async (where, out) => {
        assert.match(out, /^Created token tk_\w+ \(read\)\.$/m, `${where}:\n${out}`)
        const secret = /^\s+(bgt_\S+)$/m.exec(out)?.[1]
        assert.ok(secret, `${where}: no secret printed:\n${out}`)
        // it is the running gateway's token (same tokens.db), and it reads but does not write
        const get = await fetch(`${httpUrl}/api/v1/thermo`, {
          headers: { 'mx-api-token': secret },
          signal: AbortSignal.timeout(WAIT_MS),
        })
        assert.equal(get.status, 200, `${where}: GET with the new read token`)
        const put = await fetch(`${httpUrl}/api/v1/thermo`, {
          method: 'PUT',
          headers: { 'mx-api-token': secret, 'content-type': 'application/json' },
          body: JSON.stringify({ key: 'x' }),
          signal: AbortSignal.timeout(WAIT_MS),
        })
        assert.equal(put.status, 403, `${where}: PUT with the new read token`)
      },
    },
  ]
}
