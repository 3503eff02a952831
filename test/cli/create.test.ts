import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { checkBundleName } from '../../src/cli/commands/create.ts'
import { validateManifest } from '../../src/sdk/index.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo } from '../helpers/gateway.ts'

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '')

const run = runCli

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-create-'))
  lifo(t)(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Every file below `dir`, relative, sorted (node_modules left out). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((p) => !p.startsWith('node_modules'))
    .sort()
}

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>

/** Runs a command with a time limit; resolves with its exit code and output. */
function exec(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${cmd} ${args.join(' ')} took over ${options.timeoutMs} ms:\n${output}`))
    }, options.timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

describe('bundlegate create', () => {
  test('scaffolds a TypeScript bundle: the files, their contents, the next steps', async (t) => {
    const parent = await tempDir(t)
    const res = await run(['create', 'hello', '--dir', parent])
    assert.equal(res.code, 0, res.stderr)
    const dir = join(parent, 'hello')
    const files = [
      '.gitignore',
      'bundle.json',
      'data/hello.json.factory',
      'hello-bundle.ts',
      'hello.test.ts',
      'index.ts',
      'package.json',
      'tsconfig.json',
    ]
    assert.deepEqual(await listFiles(dir), files)
    assert.match(res.stdout, new RegExp(`^Created bundle "hello" in ${dir}:\n`))
    for (const f of files) assert.match(res.stdout, new RegExp(`^  ${f.replace('.', '\\.')}$`, 'm'))
    assert.match(res.stdout, /Next steps:\n {2}cd \S+hello\n {2}npm install\n {2}npm test .*\n {2}npm start /)

    const manifest = await readJson(join(dir, 'bundle.json'))
    assert.deepEqual(
      { ...manifest, author: 'x', email: 'x', description: 'x' },
      {
        name: 'hello',
        version: '0.0.1',
        author: 'x',
        email: 'x',
        description: 'x',
        license: 'MIT',
        main: 'index.ts',
        argument: '',
        priority: 99,
        hook: [],
        dependencies: {},
        repository: '',
        role: 'model',
        ttl: 60,
        resources: [{ methods: ['get', 'put'], resource: '/hello' }],
      },
    )
    for (const key of ['author', 'email', 'description']) assert.equal(typeof manifest[key], 'string')
    assert.equal(validateManifest(manifest, 'bundle.json').name, 'hello')
    assert.deepEqual(await readJson(join(dir, 'data/hello.json.factory')), { key: 'value' })

    const pkg = await readJson(join(dir, 'package.json'))
    assert.equal(pkg.name, 'hello')
    assert.equal(pkg.type, 'module')
    assert.equal(pkg.private, true)
    assert.deepEqual(pkg.scripts, {
      start: 'bundlegate run .',
      test: 'node --import bundlegate/register --test *.test.ts',
    })
    assert.deepEqual(pkg.dependencies, { bundlegate: `file:${REPO_ROOT}` })

    const tsconfig = (await readJson(join(dir, 'tsconfig.json'))).compilerOptions as Record<string, unknown>
    assert.equal(tsconfig.strict, true)
    assert.equal(tsconfig.module, 'NodeNext')
    assert.equal(tsconfig.moduleResolution, 'NodeNext')
    assert.equal('experimentalDecorators' in tsconfig, false, 'the SDK uses standard decorators')

    const source = await readFile(join(dir, 'hello-bundle.ts'), 'utf8')
    assert.match(source, /from 'bundlegate'/)
    assert.match(source, /export class HelloBundle extends Bundle \{/)
    assert.match(source, /this\.model = await this\.openStore<JsonObject>\('hello'\)/)
    assert.match(source, /@route\(\{ resource: '\/hello', methods: 'get' \}\)/)
    assert.match(source, /@route\(\{ resource: '\/hello', methods: 'put', schema: \{ type: 'object' \} \}\)/)
    assert.equal(
      await readFile(join(dir, 'index.ts'), 'utf8'),
      "import { HelloBundle } from './hello-bundle.ts'\n\nawait new HelloBundle({ dir: import.meta.dirname }).start()\n",
    )
    const testSource = await readFile(join(dir, 'hello.test.ts'), 'utf8')
    assert.match(testSource, /from 'bundlegate\/testing'/)
    assert.match(testSource, /gw\.startBundle\(new HelloBundle\(\{ dir: import\.meta\.dirname \}\)\)/)
    assert.match(await readFile(join(dir, '.gitignore'), 'utf8'), /^node_modules\/$/m)
  })

  test('names with dashes and capitals: class, file and npm names', async (t) => {
    const parent = await tempDir(t)
    assert.equal((await run(['create', 'hello-world', '--dir', parent])).code, 0)
    const hw = join(parent, 'hello-world')
    assert.ok((await listFiles(hw)).includes('hello-world-bundle.ts'))
    assert.match(await readFile(join(hw, 'hello-world-bundle.ts'), 'utf8'), /class HelloWorldBundle /)
    assert.match(await readFile(join(hw, 'index.ts'), 'utf8'), /from '\.\/hello-world-bundle\.ts'/)
    assert.equal((await readJson(join(hw, 'bundle.json'))).name, 'hello-world')

    assert.equal((await run(['create', 'Hello', '--dir', parent])).code, 0)
    const cap = join(parent, 'Hello')
    assert.match(await readFile(join(cap, 'Hello-bundle.ts'), 'utf8'), /class HelloBundle /)
    assert.equal((await readJson(join(cap, 'bundle.json'))).name, 'Hello')
    assert.equal((await readJson(join(cap, 'package.json'))).name, 'hello', 'npm names are lower case')
    assert.deepEqual((await readJson(join(cap, 'bundle.json'))).resources, [
      { methods: ['get', 'put'], resource: '/Hello' },
    ])
  })

  test('name rule: [A-Za-z-]+ (as bundle.json), starting and ending with a letter, not a reserved name', async (t) => {
    const table: Array<[name: string, ok: boolean]> = [
      ['hello', true],
      ['Hello', true],
      ['hello-world', true],
      ['a', true],
      ['a--b', true],
      ['x'.repeat(64), true],
      ['hello1', false],
      ['hello_world', false],
      ['', false],
      ['-x-', false],
      ['x-', false],
      ['-x', false],
      ['-', false],
      ['héllo', false],
      ['hello world', false],
      ['x'.repeat(65), false],
      ['tokens', false], // the gateway serves /tokens, /auth, /bundles, /events, /ws itself
      ['bundles', false],
      ['registration', false], // the controller's built-in components
      ['dependency', false],
    ]
    for (const [name, ok] of table) assert.equal(checkBundleName(name) === undefined, ok, `"${name}"`)
    assert.match(checkBundleName('hello1') ?? '', /invalid bundle name "hello1": use letters and dashes only/)
    assert.match(checkBundleName('tokens') ?? '', /the gateway serves \/tokens itself/)

    const parent = await tempDir(t)
    for (const name of ['hello1', 'hello_world', '', 'x-']) {
      const res = await run(['create', name, '--dir', parent])
      assert.equal(res.code, 2, name)
      assert.match(res.stderr, /invalid bundle name .*\(GW_ERR_CLI_USAGE\)/, name)
    }
    // A leading dash reads as an option; after `--` it reaches the name rule.
    assert.match((await run(['create', '-x-', '--dir', parent])).stderr, /Unknown option '-x'/)
    assert.match((await run(['create', '--dir', parent, '--', '-x-'])).stderr, /invalid bundle name "-x-"/)
    assert.deepEqual(await readdir(parent), [], 'nothing created')
  })

  test('usage: no name or two names exit 2; --help prints the rule', async () => {
    assert.equal((await run(['create'])).code, 2)
    assert.equal((await run(['create', 'a', 'b'])).code, 2)
    const help = await run(['create', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: bundlegate create <name> \[--dir <parent>\]/)
    assert.match((await run(['help'])).stdout, /create <name> \[--dir <parent>\]/)
  })

  test('refuses to overwrite an existing directory (or file): exit 1, naming it, leaving it untouched', async (t) => {
    const parent = await tempDir(t)
    await mkdir(join(parent, 'hello'))
    await writeFile(join(parent, 'hello', 'mine.txt'), 'keep me')
    const res = await run(['create', 'hello', '--dir', parent])
    assert.equal(res.code, 1)
    assert.equal(
      res.stderr,
      `bundlegate: ${join(parent, 'hello')} already exists; not overwriting it (choose another name or --dir)\n`,
    )
    assert.deepEqual(await readdir(join(parent, 'hello')), ['mine.txt'])
    assert.equal(await readFile(join(parent, 'hello', 'mine.txt'), 'utf8'), 'keep me')
    await writeFile(join(parent, 'afile'), 'x')
    assert.equal((await run(['create', 'afile', '--dir', parent])).code, 1)
    // --dir may name a parent that does not exist yet.
    assert.equal((await run(['create', 'deep', '--dir', join(parent, 'a', 'b')])).code, 0)
    assert.ok(existsSync(join(parent, 'a', 'b', 'deep', 'bundle.json')))
  })

  test('the scaffold installs offline, type-checks, and passes its own test (twice: it never touches its data/)', {
    timeout: 120_000,
  }, async (t) => {
    const npm = spawnSync('npm', ['--version'], { encoding: 'utf8' })
    if (npm.status !== 0) {
      t.skip('npm is not available: the scaffold cannot be installed')
      return
    }
    const required = [
      'dist/index.js',
      'dist/register.js',
      'dist/testing/index.js',
      'dist/cli/templates/index.js',
    ]
    const missing = required.filter((f) => !existsSync(join(REPO_ROOT, f)))
    assert.deepEqual(
      missing,
      [],
      'the scaffold uses the built package: run `npm run build` first (npm test does)',
    )
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_update_notifier: 'false' }
    delete env.NODE_TEST_CONTEXT // the scaffold's node --test is a run of its own, not a child of ours
    delete env.NODE_OPTIONS
    // The package resolves to dist/; when the sources are newer (a unit run without a build), test those instead.
    const builtAt = Math.min(...required.map((f) => statSync(join(REPO_ROOT, f)).mtimeMs))
    const sources = await readdir(join(REPO_ROOT, 'src'), { recursive: true })
    const stale = sources.some(
      (f) => f.endsWith('.ts') && statSync(join(REPO_ROOT, 'src', f)).mtimeMs > builtAt,
    )
    if (stale) {
      env.NODE_OPTIONS = '--conditions=bundlegate-dev'
      t.diagnostic(
        'dist/ is older than src/: the scaffold test runs on the sources (--conditions=bundlegate-dev)',
      )
    }

    const parent = await tempDir(t)
    assert.equal((await run(['create', 'hello', '--dir', parent])).code, 0)
    const dir = join(parent, 'hello')
    const install = await exec('npm', ['install', '--no-audit', '--no-fund', '--offline'], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    })
    assert.equal(install.code, 0, install.output)

    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    const typecheck = await exec(process.execPath, [tsc, '-p', '.'], { cwd: dir, env, timeoutMs: 60_000 })
    assert.equal(typecheck.code, 0, typecheck.output)

    for (const round of [1, 2]) {
      const started = Date.now()
      const result = await exec('npm', ['test'], { cwd: dir, env, timeoutMs: 60_000 })
      assert.equal(result.code, 0, result.output)
      assert.match(result.output, /^# pass 4$/m, result.output)
      assert.match(result.output, /^# fail 0$/m, result.output)
      t.diagnostic(`npm test, round ${round}: ${Date.now() - started} ms`)
    }
    assert.deepEqual(await readdir(join(dir, 'data')), ['hello.json.factory'], 'the test ran in a temp copy')
  })
})
