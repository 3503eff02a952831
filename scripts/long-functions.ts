/**
 * The size limits of docs/architecture.md, measured: files over {@link MAX_FILE_LINES} lines and functions over
 * {@link MAX_FUNCTION_LINES} lines in `src/`, found with the TypeScript compiler's parser (every function-like node:
 * declarations, methods, accessors, constructors, arrow functions and function expressions; a nested function counts
 * on its own and inside its parent). `test/docs/structure.test.ts` holds the allow-list.
 *
 * Run: `node --import tsx scripts/long-functions.ts [dir]` prints what is over the limits.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import ts from 'typescript'

/** A source file is at most this many lines. */
export const MAX_FILE_LINES = 400
/** A function is at most this many lines, from its first token (not its doc comment) to its closing brace. */
export const MAX_FUNCTION_LINES = 80

/** A file or a function and its length in lines. */
export interface Measured {
  /** Path relative to the repository root, with `/`. */
  file: string
  /** For a function: `name`, `Class.method`, `Class.constructor`, or `<anonymous>`; absent for a file. */
  name?: string
  /** First line (1-based). */
  line: number
  lines: number
}

/** Every `.ts` file under `dir` (recursively), sorted. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name)
    if (e.isDirectory()) out.push(...sourceFiles(path))
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path)
  }
  return out.sort()
}

/** The name a function-like node is known by: `name`, `Class.method`, `Class.constructor`, or `undefined`. */
function ownName(node: ts.FunctionLikeDeclaration): string | undefined {
  const parent = node.parent
  const owner = ts.isClassLike(parent) && parent.name ? `${parent.name.text}.` : ''
  if (ts.isConstructorDeclaration(node)) return `${owner}constructor`
  if (node.name) return `${owner}${ts.isIdentifier(node.name) ? node.name.text : node.name.getText()}`
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text
  if (ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText()
  return undefined
}

/**
 * The functions of one source text, each with its length. A function without a name of its own (a callback) is
 * named after the function it is written in: `wsRoute/<anonymous>`.
 */
export function functionsOf(file: string, text: string): Measured[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const out: Measured[] = []
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1
  const visit = (node: ts.Node, enclosing: string | undefined): void => {
    let inside = enclosing
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node as ts.FunctionLikeDeclaration
      const name = ownName(fn) ?? (enclosing ? `${enclosing}/<anonymous>` : '<anonymous>')
      const start = lineOf(fn.getStart(source))
      out.push({ file, name, line: start, lines: lineOf(fn.getEnd()) - start + 1 })
      inside = name
    }
    ts.forEachChild(node, (child) => visit(child, inside))
  }
  visit(source, undefined)
  return out
}

/** Files over {@link MAX_FILE_LINES} and functions over {@link MAX_FUNCTION_LINES} under `dir` (default `src`). */
export function overLimits(root: string, dir = 'src'): { files: Measured[]; functions: Measured[] } {
  const files: Measured[] = []
  const functions: Measured[] = []
  for (const path of sourceFiles(join(root, dir))) {
    const file = relative(root, path).split('\\').join('/')
    const text = readFileSync(path, 'utf8')
    const lines = text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length
    if (lines > MAX_FILE_LINES) files.push({ file, line: 1, lines })
    for (const f of functionsOf(file, text)) if (f.lines > MAX_FUNCTION_LINES) functions.push(f)
  }
  return { files, functions }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const root = resolve(import.meta.dirname, '..')
  const { files, functions } = overLimits(root, process.argv[2] ?? 'src')
  for (const f of files) console.log(`${f.file}: ${f.lines} lines (file)`)
  for (const f of functions) console.log(`${f.file}:${f.line} ${f.name}: ${f.lines} lines`)
  if (files.length === 0 && functions.length === 0) console.log('nothing over the limits')
}
