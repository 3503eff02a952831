/**
 * docs/architecture.md's "Areas" table against the tree: every folder of src/ is an area with a door (index.ts) and a
 * row; other areas are entered only through that door; the "depends on" column names exactly the areas imported;
 * every file the table names exists. Fails when the code or the page drifts.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative, sep } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..')
const SRC = join(REPO, 'src')
const PAGE = readFileSync(join(REPO, 'docs/architecture.md'), 'utf8')

/**
 * Imports that skip a door on purpose, each with its reason. The SDK's door loads mqtt.js (16 MiB, docs/performance.md
 * "Where the memory goes"); commands that only need a manifest check or an environment variable must not pay for it.
 */
const DOOR_EXCEPTIONS: Record<string, string> = {
  'cli -> sdk/env.ts': 'lazy: the broker URL from the environment without loading mqtt.js',
  'cli -> sdk/manifest.ts': 'lazy: manifest checks without loading mqtt.js',
  'manager -> sdk/manifest.ts':
    'the gateway checks manifests without loading the SDK (mqtt.js) into its process',
  'testing -> sdk/bundle.ts': "the test kit retargets a bundle's broker (kRetarget, internal to the SDK)",
}

/** Areas nobody imports, entered by a program instead of a door: the command line (`src/cli/bin.ts`). */
const ENTRY_POINTS: Record<string, string> = { cli: 'bin.ts' }

interface Row {
  area: string
  files: string
  dependsOn: string
}

function rows(): Row[] {
  const section = PAGE.split('\n## Areas')[1]?.split('\n## ')[0] ?? ''
  const out: Row[] = []
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const m = /^`([a-z-]+)`$/.exec(cells[1] ?? '')
    if (m?.[1]) out.push({ area: m[1], files: cells[2] ?? '', dependsOn: cells[3] ?? '' })
  }
  return out
}

function areaDirs(): string[] {
  return readdirSync(SRC).filter((d) => statSync(join(SRC, d)).isDirectory())
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : []
  })
}

/** Every relative import of every file of `area`: [target path relative to src/, importing file]. */
function importsOf(area: string): Array<[string, string]> {
  const out: Array<[string, string]> = []
  const spec = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g
  for (const file of tsFiles(join(SRC, area))) {
    for (const m of readFileSync(file, 'utf8').matchAll(spec)) {
      const target = relative(SRC, normalize(join(dirname(file), m[1] as string)))
      out.push([target.split(sep).join('/'), relative(SRC, file)])
    }
  }
  return out
}

test('every folder of src/ is an area with a door and a row in docs/architecture.md, and every row is a folder', () => {
  const listed = rows().map((r) => r.area)
  const dirs = areaDirs()
  assert.deepEqual([...listed].sort(), [...dirs].sort(), 'areas in the table vs folders in src/')
  for (const d of dirs) {
    const door = ENTRY_POINTS[d] ?? 'index.ts'
    assert.ok(existsSync(join(SRC, d, door)), `src/${d}/${door} (the door) is missing`)
  }
  for (const area of dirs)
    for (const [target] of importsOf(area))
      assert.ok(
        target.split('/')[0] === area || !((target.split('/')[0] as string) in ENTRY_POINTS),
        `${area} imports ${target}: an entry point`,
      )
})

test('areas enter each other only through index.ts (or a listed, reasoned exception)', () => {
  const wrong: string[] = []
  for (const area of areaDirs()) {
    for (const [target, from] of importsOf(area)) {
      const [other, ...rest] = target.split('/')
      if (rest.length === 0 || other === area) continue // a shared root module, or the area itself
      const key = `${area} -> ${target}`
      if (rest.join('/') !== 'index.ts' && !(key in DOOR_EXCEPTIONS)) wrong.push(`${from} imports ${target}`)
    }
  }
  assert.deepEqual(wrong, [])
})

test('"depends on" names exactly the areas each area imports', () => {
  const dirs = new Set(areaDirs())
  for (const row of rows()) {
    const declared = row.dependsOn
      .split(/[,;]/)
      .map((s) => s.trim().replace(/`/g, ''))
      .filter((s) => dirs.has(s))
    const used = new Set<string>()
    for (const [target] of importsOf(row.area)) {
      const other = target.split('/')[0] as string
      if (target.includes('/') && other !== row.area && dirs.has(other)) used.add(other)
    }
    if (row.dependsOn.trim() === 'all') continue
    assert.deepEqual([...declared].sort(), [...used].sort(), `area ${row.area}: "depends on" vs its imports`)
  }
})

test('every file the table names exists', () => {
  const missing: string[] = []
  for (const row of rows()) {
    for (const m of row.files.matchAll(/`([\w./-]+\.ts)`/g)) {
      const name = m[1] as string
      const candidates = [join(SRC, row.area, name), join(SRC, name), join(REPO, name)]
      const found =
        candidates.some((p) => existsSync(p)) ||
        tsFiles(join(SRC, row.area)).some((p) => p.endsWith(`${sep}${name}`))
      if (!found) missing.push(`${row.area}: ${name}`)
    }
  }
  assert.deepEqual(missing, [])
})
