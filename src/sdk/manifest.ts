/**
 * The `bundle.json` of a bundle (ThingsPro / Sanji format): loading and validation.
 * @module
 */

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deepFreeze } from '../deep-freeze.ts'
import { describeValue as describe } from '../describe-value.ts'
import { createError } from '../errors.ts'
import { isObject, type Json, type JsonObject, MAX_RESOURCE_CHARS } from '../protocol/index.ts'
import { jsonErrorOffset } from './json-error-offset.ts'

/** The role of a bundle or of one of its resources. */
export type ManifestRole = 'model' | 'view'

/** One entry of the manifest's `resources`. */
export interface ManifestResource {
  /** A route such as `/network/ethernet/:id`. */
  resource: string
  /** Lower-cased verbs the route handles (documentation only: never sent nor enforced, wire-protocol.md §4.5). */
  methods?: string[]
  /** Overrides the bundle's role for this resource. */
  role?: ManifestRole
}

/** A validated, deep-frozen `bundle.json`. */
export interface Manifest {
  name: string
  version: string
  description: string
  role: ManifestRole
  /** Seconds. */
  ttl: number
  resources: ManifestResource[]
  /** Normalised to an array (a single string becomes a one-element array); [] when absent. */
  hook: string[]
  /** {} when absent. */
  dependencies: JsonObject
  author?: string
  email?: string
  license?: string
  main?: string
  argument?: string
  repository?: string
  priority?: number
  /** The whole manifest as read, unknown keys included. */
  raw: JsonObject
}

/** One thing wrong with a manifest. */
export interface ManifestProblem {
  /** Path of the field, e.g. `ttl` or `resources[1].methods[0]`; '' for the manifest itself. */
  field: string
  /** What the field must be, e.g. "a positive integer (seconds)". */
  expected: string
  /** What was found, e.g. "`-1` (number)" or "nothing". */
  found: string
}

const NAME = /^[A-Za-z-]+$/
const MAX_NAME_CHARS = 64
const METHODS = new Set(['get', 'post', 'put', 'delete'])
const OPTIONAL_STRINGS = ['author', 'email', 'license', 'main', 'argument', 'repository'] as const

const EXPECT = {
  name: `a string of letters and dashes (at most ${MAX_NAME_CHARS} characters)`,
  text: 'a non-empty string',
  role: '`model` or `view`',
  ttl: 'a positive integer (seconds)',
  resources: 'an array of resource objects',
  resourceEntry: 'an object with a `resource` route',
  resource: `a route starting with \`/\` (at most ${MAX_RESOURCE_CHARS} characters)`,
  methods: 'a non-empty array of `get`, `post`, `put`, `delete`',
  method: 'one of `get`, `post`, `put`, `delete`',
  string: 'a string',
  priority: 'a number',
  hook: 'an array of non-empty strings, or one non-empty string',
  dependencies: 'an object',
  manifest: 'a JSON object',
} as const

/**
 * Validates a parsed `bundle.json`. Every problem is collected before failing; unknown keys are allowed and kept
 * in `raw`. Methods are lower-cased.
 * @param source Shown in the error message (a path, or `bundle.json`).
 * @throws GW_ERR_MANIFEST_INVALID listing every problem ("Expected `ttl` to be a positive integer (seconds), got
 *   `-1` (number)"), with `data.problems`: {@link ManifestProblem}[].
 */
export function validateManifest(value: unknown, source = 'bundle.json'): Manifest {
  const problems: ManifestProblem[] = []
  const problem = (field: string, expected: string, found: unknown): void => {
    problems.push({ field, expected, found: describe(found) })
  }
  if (!isObject(value as Json)) {
    problem('', EXPECT.manifest, value)
    throw invalid(source, problems)
  }
  const raw = value as JsonObject

  const name = raw['name']
  if (typeof name !== 'string' || !NAME.test(name) || name.length > MAX_NAME_CHARS)
    problem('name', EXPECT.name, name)
  for (const key of ['version', 'description'] as const) {
    const v = raw[key]
    if (typeof v !== 'string' || v === '') problem(key, EXPECT.text, v)
  }
  const role = raw['role']
  if (!isRole(role)) problem('role', EXPECT.role, role)
  const ttl = raw['ttl']
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl <= 0) problem('ttl', EXPECT.ttl, ttl)

  const resources: ManifestResource[] = []
  const rawResources = raw['resources']
  if (!Array.isArray(rawResources)) problem('resources', EXPECT.resources, rawResources)
  else {
    rawResources.forEach((entry, i) => {
      checkResource(entry, `resources[${i}]`, problem, resources)
    })
  }

  for (const key of OPTIONAL_STRINGS) {
    if (key in raw && typeof raw[key] !== 'string') problem(key, EXPECT.string, raw[key])
  }
  if ('priority' in raw && (typeof raw['priority'] !== 'number' || !Number.isFinite(raw['priority']))) {
    problem('priority', EXPECT.priority, raw['priority'])
  }
  const hook: string[] = []
  const rawHook = raw['hook']
  if (typeof rawHook === 'string' && rawHook !== '') hook.push(rawHook)
  else if (Array.isArray(rawHook)) {
    rawHook.forEach((h, i) => {
      if (typeof h === 'string' && h !== '') hook.push(h)
      else problem(`hook[${i}]`, EXPECT.text, h)
    })
  } else if ('hook' in raw) problem('hook', EXPECT.hook, rawHook)
  const dependencies = raw['dependencies']
  if ('dependencies' in raw && !isObject(dependencies as Json))
    problem('dependencies', EXPECT.dependencies, dependencies)

  if (problems.length > 0) throw invalid(source, problems)

  const manifest: Manifest = {
    name: name as string,
    version: raw['version'] as string,
    description: raw['description'] as string,
    role: role as ManifestRole,
    ttl: ttl as number,
    resources,
    hook,
    dependencies: structuredClone((dependencies ?? {}) as JsonObject),
    raw: structuredClone(raw),
  }
  for (const key of OPTIONAL_STRINGS) if (typeof raw[key] === 'string') manifest[key] = raw[key]
  if (typeof raw['priority'] === 'number') manifest.priority = raw['priority']
  return deepFreeze(manifest)
}

/**
 * Reads and validates `<dir>/bundle.json`.
 * @throws GW_ERR_MANIFEST_READ when the file cannot be read; GW_ERR_MANIFEST_INVALID for invalid JSON (with
 *   `data.line`, `data.column`, `data.position`) or an invalid manifest (see {@link validateManifest}).
 */
export async function loadManifest(dir: string): Promise<Manifest> {
  const file = join(dir, 'bundle.json')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw createError('GW_ERR_MANIFEST_READ', [file, (err as Error).message], { cause: err })
  }
  text = text.replace(/^\uFEFF/, '')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const position = jsonErrorOffset(text)
    const before = text.slice(0, position)
    const line = before.split('\n').length
    const column = position - before.lastIndexOf('\n')
    throw createError(
      'GW_ERR_MANIFEST_INVALID',
      [
        file,
        `invalid JSON at line ${line}, column ${column} (position ${position}): ${(err as Error).message}`,
      ],
      { cause: err, data: { line, column, position } },
    )
  }
  return validateManifest(value, file)
}

function checkResource(
  entry: Json,
  at: string,
  problem: (field: string, expected: string, found: unknown) => void,
  out: ManifestResource[],
): void {
  if (!isObject(entry)) {
    problem(at, EXPECT.resourceEntry, entry)
    return
  }
  const path = entry['resource']
  const pathOk = typeof path === 'string' && path.startsWith('/') && path.length <= MAX_RESOURCE_CHARS
  if (!pathOk) problem(`${at}.resource`, EXPECT.resource, path)
  const result: ManifestResource = { resource: path as string }
  if ('methods' in entry) {
    const methods = entry['methods']
    if (!Array.isArray(methods) || methods.length === 0) problem(`${at}.methods`, EXPECT.methods, methods)
    else {
      const lower: string[] = []
      methods.forEach((m, j) => {
        const verb = typeof m === 'string' ? m.toLowerCase() : undefined
        if (verb === undefined || !METHODS.has(verb)) problem(`${at}.methods[${j}]`, EXPECT.method, m)
        else if (!lower.includes(verb)) lower.push(verb)
      })
      result.methods = lower
    }
  }
  if ('role' in entry) {
    const role = entry['role']
    if (isRole(role)) result.role = role
    else problem(`${at}.role`, EXPECT.role, role)
  }
  out.push(result)
}

function isRole(value: unknown): value is ManifestRole {
  return value === 'model' || value === 'view'
}

function invalid(source: string, problems: ManifestProblem[]) {
  const text = problems
    .map(
      (p) =>
        `Expected ${p.field === '' ? 'the manifest' : `\`${p.field}\``} to be ${p.expected}, got ${p.found}`,
    )
    .join('; ')
  return createError('GW_ERR_MANIFEST_INVALID', [source, text], { data: { problems } })
}
