import { readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { createError } from '../../errors.ts'
import { GATEWAY_RESOURCES } from '../../server.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'
import { bundleFiles, classNameOf, type TemplateContext } from '../templates/index.ts'

const HELP = `Usage: bundlegate create <name> [--dir <parent>]

Scaffolds a TypeScript bundle in <parent>/<name> (default ./<name>) that runs and passes its own test at once:
bundle.json (resource /<name> with GET and PUT), the bundle class, index.ts, data/<name>.json.factory, a test on
the test kit (bundlegate/testing), package.json and tsconfig.json. Never overwrites: the directory must not exist.

<name>: letters and dashes ([A-Za-z-]+, at most 64), starting and ending with a letter.

Options:
  --dir <parent>    where to create the bundle directory (default: the current directory)`

/** Letters and dashes (the bundle.json rule), starting and ending with a letter: it is also a directory name. */
const NAME = /^[A-Za-z](?:[A-Za-z-]*[A-Za-z])?$/
const MAX_NAME_CHARS = 64
/** The controller's built-in components: a bundle of that name is refused. */
const BUILTIN_COMPONENTS = ['registration', 'dependency']

/** Why `name` cannot be a new bundle's name, or undefined when it can. */
export function checkBundleName(name: string): string | undefined {
  if (!NAME.test(name) || name.length > MAX_NAME_CHARS) {
    return (
      `invalid bundle name "${name}": use letters and dashes only ([A-Za-z-]+, at most ${MAX_NAME_CHARS}), ` +
      'starting and ending with a letter, e.g. "hello" or "hello-world"'
    )
  }
  if (BUILTIN_COMPONENTS.includes(name))
    return `invalid bundle name "${name}": the controller has a built-in component of that name`
  if (GATEWAY_RESOURCES.some((r) => r.prefix === `/${name}`))
    return `invalid bundle name "${name}": the gateway serves /${name} itself`
  return undefined
}

/** This bundlegate package: its root directory, version and Node range. */
function ownPackage(): { root: string; version: string; node: string } {
  let dir = import.meta.dirname
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
        engines?: { node?: string }
      }
      if (pkg.name === 'bundlegate') {
        return { root: dir, version: pkg.version ?? '0.0.0', node: pkg.engines?.node ?? '>=20.19' }
      }
    } catch {
      // no package.json here
    }
    const up = dirname(dir)
    if (up === dir) throw new Error(`cannot find the bundlegate package above ${import.meta.dirname}`)
    dir = up
  }
}

/**
 * The dependency a new bundle declares: `file:<root>` for a checkout (offline, always this very version), the
 * semver range when bundlegate was installed from a registry.
 */
function dependencySpec(pkg: { root: string; version: string }): string {
  return pkg.root.split(sep).includes('node_modules') ? `^${pkg.version}` : `file:${pkg.root}`
}

/** `bundlegate create hello [--dir parent]`: exit 0, 1 when the directory exists, 2 on a usage error. */
export async function createCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    dir: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  if (positionals.length !== 1) throw createError('GW_ERR_CLI_USAGE', [HELP])
  const name = positionals[0] as string
  const problem = checkBundleName(name)
  if (problem) throw createError('GW_ERR_CLI_USAGE', [problem])

  const parent = resolve(values.dir ?? '.')
  const target = join(parent, name)
  await mkdir(parent, { recursive: true })
  try {
    await mkdir(target) // not recursive: fails when anything is there already
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    line(io.err, `bundlegate: ${target} already exists; not overwriting it (choose another name or --dir)`)
    return 1
  }

  const pkg = ownPackage()
  const ctx: TemplateContext = {
    name,
    className: classNameOf(name),
    bundlegateSpec: dependencySpec(pkg),
    nodeRange: pkg.node,
  }
  const files = bundleFiles(ctx)
  try {
    for (const [path, content] of files) {
      await mkdir(dirname(join(target, path)), { recursive: true })
      await writeFile(join(target, path), content, { flag: 'wx' })
    }
  } catch (err) {
    await rm(target, { recursive: true, force: true }) // we made it: leave no half bundle behind
    throw err
  }

  const shown = relative(process.cwd(), target)
  const cd = shown === '' || shown.startsWith('..') || isAbsolute(shown) ? target : shown
  line(io.out, `Created bundle "${name}" in ${target}:`)
  for (const [path] of files) line(io.out, `  ${path}`)
  line(io.out)
  line(io.out, 'Next steps:')
  line(io.out, `  cd ${quote(cd)}`)
  line(io.out, '  npm install')
  line(io.out, '  npm test     # its test: a test gateway and the bundle, in-process')
  line(io.out, '  npm start    # runs it against the gateway at BROKER_URL (default mqtt://127.0.0.1:1883)')
  line(io.out)
  line(io.out, `Then, with the gateway running (bundlegate start), call it with a token:`)
  line(io.out, `  curl -H "mx-api-token: $TOKEN" http://127.0.0.1:8080/api/v1/${name}`)
  return 0
}

/** Quotes a path for a POSIX shell when it needs it. */
function quote(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`
}
