import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { runCommand } from '../../src/cli/commands/run.ts'
import { main } from '../../src/cli/main.ts'
import { GatewayError } from '../../src/errors.ts'
import { type ManifestProblem, validateManifest } from '../../src/sdk/manifest.ts'
import { lifo, startTestGateway } from '../helpers/gateway.ts'
import { PYTHON_BUNDLE, pahoPython } from '../helpers/managed-bundles.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** Captured CLI streams; `text()` is both, in arrival order. */
function capture() {
  const out = new PassThrough()
  const err = new PassThrough()
  const c = { out, err, stdout: '', stderr: '', all: '' }
  out.on('data', (d: Buffer) => {
    c.stdout += d.toString()
    c.all += d.toString()
  })
  err.on('data', (d: Buffer) => {
    c.stderr += d.toString()
    c.all += d.toString()
  })
  return c
}

async function cli(argv: string[]) {
  const c = capture()
  const code = await main(argv, c)
  return { code, stdout: c.stdout, stderr: c.stderr }
}

const GOOD = {
  name: 'good',
  version: '1.0.0',
  description: 'a test bundle',
  role: 'model',
  ttl: 60,
  resources: [{ resource: '/good', methods: ['get'] }],
  main: 'index.mjs',
}

/** A bundle directory in a temp dir: bundle.json (object or raw text) and files. */
async function bundleDir(
  t: { after: (fn: () => Promise<void>) => void },
  manifest: object | string,
  files: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-run-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await writeFile(
    join(dir, 'bundle.json'),
    typeof manifest === 'string' ? manifest : JSON.stringify(manifest, null, 2),
  )
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), text)
  }
  return dir
}

/** The documented line for one problem (docs/errors.md, GW_ERR_MANIFEST_INVALID). */
function problemLine(field: string, expected: string, found: string): string {
  return `  Expected \`${field}\` to be ${expected}, got ${found}`
}

const RAN = "console.log('BUNDLE RAN')\n"

/** Polls `predicate` every 10 ms; the failure message is built when it fails (it shows the output by then). */
async function until(predicate: () => boolean, ms: number, what: () => string, pollMs = 10): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

describe('bundlegate run: bundle.json checks', () => {
  const cases: Array<{ what: string; edit: (m: Record<string, unknown>) => void; problem: ManifestProblem }> =
    [
      {
        what: 'name a_b',
        edit: (m) => {
          m.name = 'a_b'
        },
        problem: {
          field: 'name',
          expected: 'a string of letters and dashes (at most 64 characters)',
          found: '`"a_b"` (string)',
        },
      },
      {
        what: 'missing version',
        edit: (m) => {
          delete m.version
        },
        problem: { field: 'version', expected: 'a non-empty string', found: 'nothing' },
      },
      {
        what: 'role controller',
        edit: (m) => {
          m.role = 'controller'
        },
        problem: { field: 'role', expected: '`model` or `view`', found: '`"controller"` (string)' },
      },
      {
        what: 'ttl -1',
        edit: (m) => {
          m.ttl = -1
        },
        problem: { field: 'ttl', expected: 'a positive integer (seconds)', found: '`-1` (number)' },
      },
      {
        what: 'ttl "60"',
        edit: (m) => {
          m.ttl = '60'
        },
        problem: { field: 'ttl', expected: 'a positive integer (seconds)', found: '`"60"` (string)' },
      },
      {
        what: 'resources not an array',
        edit: (m) => {
          m.resources = { resource: '/good' }
        },
        problem: {
          field: 'resources',
          expected: 'an array of resource objects',
          found: '`{"resource":"/good"}` (object)',
        },
      },
      {
        what: 'a resource without a leading /',
        edit: (m) => {
          m.resources = [{ resource: 'good' }]
        },
        problem: {
          field: 'resources[0].resource',
          expected: 'a route starting with `/` (at most 1023 characters)',
          found: '`"good"` (string)',
        },
      },
      {
        what: 'a bad method',
        edit: (m) => {
          m.resources = [{ resource: '/good', methods: ['get', 'fetch'] }]
        },
        problem: {
          field: 'resources[0].methods[1]',
          expected: 'one of `get`, `post`, `put`, `delete`',
          found: '`"fetch"` (string)',
        },
      },
    ]

  for (const c of cases) {
    test(`${c.what}: exit 1, the problem on its own line (field, expected, found), the bundle never starts`, async (t) => {
      const manifest: Record<string, unknown> = structuredClone(GOOD)
      c.edit(manifest)
      const dir = await bundleDir(t, manifest, { 'index.mjs': RAN })
      const r = await cli(['run', dir])
      assert.equal(r.code, 1, r.stderr)
      const lines = r.stderr.split('\n')
      assert.ok(
        lines.includes(problemLine(c.problem.field, c.problem.expected, c.problem.found)),
        `expected the line for ${c.problem.field} in:\n${r.stderr}`,
      )
      assert.match(
        lines[0] ?? '',
        /invalid bundle\.json \(.*bundle\.json\): 1 problem \(GW_ERR_MANIFEST_INVALID\)/,
      )
      assert.doesNotMatch(r.stdout + r.stderr, /BUNDLE RAN/)
      // the same problem as the SDK's validator reports (one source of truth)
      const err = (() => {
        try {
          validateManifest(manifest)
        } catch (e) {
          return e as GatewayError
        }
        assert.fail('validateManifest accepted it')
      })()
      assert.ok(err instanceof GatewayError)
      assert.deepEqual((err.data as { problems: ManifestProblem[] }).problems, [c.problem])
    })
  }

  test('every problem at once: one line each, in the validator order', async (t) => {
    const manifest: Record<string, unknown> = structuredClone(GOOD)
    for (const c of cases.slice(0, 4)) c.edit(manifest)
    cases[7]?.edit(manifest)
    const dir = await bundleDir(t, manifest, { 'index.mjs': RAN })
    const r = await cli(['run', dir])
    assert.equal(r.code, 1)
    const expected = [cases[0], cases[1], cases[2], cases[3], cases[7]].map((c) =>
      problemLine(c!.problem.field, c!.problem.expected, c!.problem.found),
    )
    assert.deepEqual(r.stderr.split('\n').slice(1, -1), expected)
    assert.match(r.stderr, /: 5 problems \(GW_ERR_MANIFEST_INVALID\)/)
  })

  test('not JSON, no bundle.json, missing main, unknown main type, bad arguments', async (t) => {
    const notJson = await bundleDir(t, '{\n  "name": "x",\n  oops\n}')
    const a = await cli(['run', notJson])
    assert.equal(a.code, 1)
    assert.match(a.stderr, /invalid JSON at line 3, column 3 .*GW_ERR_MANIFEST_INVALID/)

    const empty = await mkdtemp(join(tmpdir(), 'bg-run-'))
    t.after(() => rm(empty, { recursive: true, force: true }))
    const b = await cli(['run', empty])
    assert.equal(b.code, 1)
    assert.match(b.stderr, /Cannot read bundle\.json at .*GW_ERR_MANIFEST_READ/)

    const noMain = await bundleDir(t, { ...GOOD, main: 'nope.ts' })
    const c = await cli(['run', noMain])
    assert.equal(c.code, 1)
    assert.match(c.stderr, /main file .*nope\.ts \(from bundle\.json\) does not exist/)

    const { main: _, ...withoutMain } = GOOD
    const none = await bundleDir(t, withoutMain)
    assert.match((await cli(['run', none])).stderr, /has no "main" and .* has none of index\.ts, index\.js/)

    const odd = await bundleDir(t, { ...GOOD, main: 'run.sh' }, { 'run.sh': 'echo hi' })
    const d = await cli(['run', odd])
    assert.equal(d.code, 1)
    assert.match(d.stderr, /main must be \.ts, \.mts, \.js, \.mjs or \.py/)

    assert.equal((await cli(['run', 'a', 'b'])).code, 2)
    assert.equal((await cli(['run', '--bogus'])).code, 2)
    assert.match((await cli(['run', '--help'])).stdout, /--watch/)
  })
})

describe('bundlegate run: running bundles', () => {
  test('exit codes pass through: exit 3 (JavaScript), 128+9 for SIGKILL; env and cwd as documented', async (t) => {
    const three = await bundleDir(t, GOOD, {
      'index.mjs': `
        console.log(JSON.stringify({
          BROKER_URL: process.env.BROKER_URL,
          ADDR: process.env.BROKER_PORT_1883_TCP_ADDR,
          PORT: process.env.BROKER_PORT_1883_TCP_PORT,
          BUNDLE_DIR: process.env.BUNDLE_DIR,
          cwd: process.cwd(),
          argv: process.argv.slice(2),
        }))
        console.error('to stderr')
        process.exit(3)
      `,
    })
    const c = capture()
    const code = await main(['run', three, '--broker', 'mqtt://127.0.0.1:18839'], c)
    assert.equal(code, 3, c.all)
    const env = JSON.parse(c.stdout.trim()) as Record<string, unknown>
    assert.deepEqual(env, {
      BROKER_URL: 'mqtt://127.0.0.1:18839',
      ADDR: '127.0.0.1',
      PORT: '18839',
      BUNDLE_DIR: three,
      cwd: three,
      argv: [],
    })
    assert.match(
      c.stderr,
      /^bundlegate: running good 1\.0\.0: node index\.mjs \(broker mqtt:\/\/127\.0\.0\.1:18839\)\n/,
    )
    assert.match(c.stderr, /to stderr/)

    // the broker from the environment; `argument` words after the file
    const saved = process.env.BROKER_URL
    process.env.BROKER_URL = 'mqtt://[::1]:1999'
    try {
      const args = await bundleDir(
        t,
        { ...GOOD, argument: '--a  b' },
        {
          'index.mjs': `const e = process.env
            console.log(JSON.stringify([e.BROKER_URL, e.BROKER_PORT_1883_TCP_ADDR, e.BROKER_PORT_1883_TCP_PORT, process.argv.slice(2)]))`,
        },
      )
      const e = capture()
      assert.equal(await main(['run', args], e), 0, e.all)
      assert.deepEqual(JSON.parse(e.stdout), ['mqtt://[::1]:1999', '::1', '1999', ['--a', 'b']])
    } finally {
      if (saved === undefined) delete process.env.BROKER_URL
      else process.env.BROKER_URL = saved
    }

    const killed = await bundleDir(t, GOOD, { 'index.mjs': "process.kill(process.pid, 'SIGKILL')" })
    assert.equal(await main(['run', killed], capture()), 137)
  })

  test('a TypeScript bundle importing bundlegate registers with the gateway and answers `call` with 200', async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway()
    defer(() => gw.close())
    const dir = await bundleDir(
      t,
      { ...GOOD, name: 'runtest', main: 'index.ts', resources: [{ resource: '/runtest', methods: ['get'] }] },
      {
        // as \`bundlegate create\` writes it: TypeScript bundles are ES modules
        'package.json': '{ "type": "module", "private": true }',
        'index.ts': `
          import { createBundle, type RequestMessage } from 'bundlegate'

          const bundle = createBundle({ dir: import.meta.dirname })
          bundle.get('/runtest', (_m: RequestMessage) => ({
            pid: process.pid,
            bundleDir: process.env.BUNDLE_DIR ?? null,
            addr: process.env.BROKER_PORT_1883_TCP_ADDR ?? null,
          }))
          await bundle.start()
        `,
      },
    )
    // How a bundle outside the repository finds \`bundlegate\`: as after \`npm install bundlegate\` (or npm link),
    // node_modules/bundlegate is this package. The CLI runs with --conditions=bundlegate-dev here, so the bundle
    // gets it too and loads src/index.ts (no build needed, never a stale dist/).
    await mkdir(join(dir, 'node_modules'))
    await symlink(root, join(dir, 'node_modules', 'bundlegate'), 'dir')
    const ac = new AbortController()
    const c = capture()
    const done = runCommand([dir, '--broker', gw.brokerUrl], c, { signal: ac.signal })
    defer(async () => {
      ac.abort()
      await done
    })
    let ended = false
    void done.then(() => {
      ended = true
    })
    const registered = () => gw.controller.core.components().some((x) => x.name === 'runtest' && x.online)
    await until(
      () => registered() || ended,
      20_000,
      () => `the bundle to register:\n${c.all}`,
    )
    assert.ok(registered(), `the bundle ended:\n${c.all}`)
    const r = await cli(['call', 'GET', '/runtest', '--url', gw.httpUrl, '--token', gw.rootToken])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^200 OK\n/)
    const body = JSON.parse(r.stdout.slice(r.stdout.indexOf('\n') + 1)) as { pid: number; bundleDir: string }
    assert.equal(body.bundleDir, dir)
    assert.match(c.stderr, /running runtest 1\.0\.0: node --import tsx index\.ts/)
    // SIGTERM to the bundle: our SDK stops cleanly and exits 0, which `run` passes on
    process.kill(body.pid, 'SIGTERM')
    assert.equal(await done, 0, c.all)
  })

  test('--watch restarts on a change (not for data/, dotfiles, node_modules), also after the bundle exited', async (t) => {
    const dir = await bundleDir(t, GOOD, {
      'mode.txt': 'exit',
      'index.mjs': `
        import { readFileSync } from 'node:fs'
        const mode = readFileSync(new URL('./mode.txt', import.meta.url), 'utf8').trim()
        console.log('started ' + mode)
        if (mode === 'exit') process.exit(3)
        process.on('SIGTERM', () => {
          console.log('got SIGTERM')
          process.exit(0)
        })
        setInterval(() => {}, 1000)
      `,
      'data/good.json': '{}',
      'node_modules/dep/index.js': '',
      'lib/util.mjs': '',
    })
    const ac = new AbortController()
    const c = capture()
    const done = runCommand([dir, '--watch'], c, { signal: ac.signal })
    t.after(async () => {
      ac.abort()
      await done
    })
    const count = (re: RegExp) => (c.all.match(new RegExp(re, 'g')) ?? []).length
    await until(
      () => /exited with code 3; waiting for a file change/.test(c.all),
      10_000,
      () => `exit 3:\n${c.all}`,
    )

    await writeFile(join(dir, 'mode.txt'), 'stay')
    await until(
      () => count(/started stay/) === 1,
      10_000,
      () => `restart after the change:\n${c.all}`,
    )
    assert.match(c.stderr, /bundlegate: restarting: mode\.txt changed\n/)

    // ignored: the bundle's data, dotfiles, node_modules
    await writeFile(join(dir, 'data', 'good.json'), '{"x":1}')
    await writeFile(join(dir, '.hidden'), 'x')
    await writeFile(join(dir, 'node_modules', 'dep', 'index.js'), '// changed')
    await new Promise((r) => setTimeout(r, 600))
    assert.equal(count(/restarting/), 1, c.all)

    // a subdirectory, and a directory created after the start
    await writeFile(join(dir, 'lib', 'util.mjs'), '// changed')
    await until(
      () => count(/started stay/) >= 2,
      10_000,
      () => `restart for lib/util.mjs:\n${c.all}`,
    )
    assert.match(c.stderr, /restarting: lib\/util\.mjs changed/)
    assert.ok(count(/got SIGTERM/) >= 1, 'the old process got SIGTERM before the new one started')
    await mkdir(join(dir, 'src'))
    await until(
      () => count(/started stay/) >= 3,
      10_000,
      () => `restart for src:\n${c.all}`,
    )
    await writeFile(join(dir, 'src', 'new.mjs'), '')
    await until(
      () => count(/started stay/) >= 4,
      10_000,
      () => `restart for src/new.mjs:\n${c.all}`,
    )
    assert.match(c.stderr, /restarting: src\/new\.mjs changed/)

    // Under load one file write can arrive as two events further apart than the debounce: wait until the output is
    // quiet and the newest process has started, so the abort hits a bundle that has its SIGTERM handler.
    let seen = -1
    await until(
      () => {
        const now = c.all.length
        const quiet = now === seen && /started stay\n$/.test(c.stdout)
        seen = now
        return quiet
      },
      10_000,
      () => `quiet output:\n${c.all}`,
      700,
    )
    ac.abort()
    assert.equal(await done, 0, c.all)
    assert.equal(count(/got SIGTERM/), count(/started stay/), 'every bundle process was stopped with SIGTERM')
  })

  test('SIGTERM and SIGINT to the CLI process reach the bundle; the CLI exits with its code', async (t) => {
    const dir = await bundleDir(t, GOOD, {
      'index.mjs': `
        for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { console.log('got ' + s); process.exit(5) })
        console.log('ready')
        setInterval(() => {}, 1000)
      `,
    })
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = spawn(
        process.execPath,
        ['--conditions=bundlegate-dev', '--import', 'tsx', 'src/cli/bin.ts', 'run', dir],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      t.after(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      })
      let output = ''
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString()
      })
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString()
      })
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      await until(
        () => /ready/.test(output),
        20_000,
        () => `the bundle to start:\n${output}`,
      )
      child.kill(signal) // the CLI only: the bundle gets it from the CLI
      assert.equal(await exited, 5, output)
      assert.match(output, new RegExp(`got ${signal}`))
    }
  })
})

describe('bundlegate run: Python bundles', () => {
  test('python3 missing: a clear message, exit 1', async (t) => {
    const dir = await bundleDir(t, { ...GOOD, main: 'index.py' }, { 'index.py': 'print("hi")\n' })
    const empty = await mkdtemp(join(tmpdir(), 'bg-nopath-'))
    t.after(() => rm(empty, { recursive: true, force: true }))
    const saved = { PATH: process.env.PATH, BUNDLEGATE_PYTHON: process.env.BUNDLEGATE_PYTHON }
    process.env.PATH = empty
    delete process.env.BUNDLEGATE_PYTHON
    try {
      const r = await cli(['run', dir])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /python3 not found: Python bundles need python3 with paho-mqtt/)
    } finally {
      process.env.PATH = saved.PATH
      if (saved.BUNDLEGATE_PYTHON !== undefined) process.env.BUNDLEGATE_PYTHON = saved.BUNDLEGATE_PYTHON
    }
  })

  test('an original-style Python bundle (paho-mqtt, BROKER_PORT_1883_TCP_*) registers and answers `call`', async (t) => {
    // python3 first; /usr/bin/python3 too, where Debian's python3-paho-mqtt installs when python3 is another one
    const python = pahoPython()
    if (!python) {
      t.skip('python3 with paho-mqtt not available')
      return
    }
    const defer = lifo(t)
    const gw = await startTestGateway()
    defer(() => gw.close())
    const dir = await bundleDir(
      t,
      { ...GOOD, name: 'pyrun', main: 'index.py', resources: [{ resource: '/pyrun' }] },
      { 'index.py': PYTHON_BUNDLE },
    )
    const saved = process.env.BUNDLEGATE_PYTHON
    process.env.BUNDLEGATE_PYTHON = python
    defer(() => {
      if (saved === undefined) delete process.env.BUNDLEGATE_PYTHON
      else process.env.BUNDLEGATE_PYTHON = saved
    })
    const ac = new AbortController()
    const c = capture()
    const done = runCommand([dir, '--broker', gw.brokerUrl], c, { signal: ac.signal })
    defer(async () => {
      ac.abort()
      await done
    })
    let ended = false
    void done.then(() => {
      ended = true
    })
    const registered = () => gw.controller.core.components().some((x) => x.name === 'pyrun')
    await until(
      () => registered() || ended,
      20_000,
      () => `the Python bundle to register:\n${c.all}`,
    )
    assert.ok(registered(), `the Python bundle ended:\n${c.all}`)
    const r = await cli(['call', 'GET', '/pyrun', '--url', gw.httpUrl, '--token', gw.rootToken, '--json'])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const body = JSON.parse(r.stdout) as { cwd: string; port: number }
    assert.equal(body.cwd, dir)
    assert.equal(String(body.port), new URL(gw.brokerUrl).port)
    ac.abort()
    assert.equal(await done, 0, c.all)
    assert.match(c.all, /registered/)
  })
})
