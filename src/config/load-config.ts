import { readFile } from 'node:fs/promises'
import { deepFreeze } from '../deep-freeze.ts'
import { createError } from '../errors.ts'
import { type Config, DEFAULTS, ENV_VARS, OPTIONS } from './schema.ts'
import { validateConfig } from './validate-config.ts'

/** Partial configuration, as a file or flags give it. */
export type ConfigInput = DeepPartial<Config>

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] }

/** Where configuration comes from, lowest precedence first: defaults, file, environment, flags. */
export interface ConfigSources {
  file?: string | undefined
  env?: NodeJS.ProcessEnv
  flags?: ConfigInput
}

function coerce(name: string, raw: string, type: 'string' | 'integer' | 'number' | 'boolean'): unknown {
  if (type === 'string') return raw
  if (type === 'integer') return /^-?\d+$/.test(raw) ? Number(raw) : raw
  if (type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw createError('GW_ERR_CONFIG_INVALID', [
    `Expected \`${name}\` to be true or false, got \`${raw}\` (string)`,
  ])
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Merges `from` into `into` section by section, nested sections too; anything else replaces (the validator judges). */
function merge(into: Record<string, unknown>, from: Record<string, unknown> | undefined): void {
  if (!from) return
  for (const [key, value] of Object.entries(from)) {
    if (value === undefined) continue
    const current = Object.hasOwn(into, key) ? into[key] : undefined
    if (isPlainObject(value) && isPlainObject(current)) merge(current, value)
    // defineProperty: a `__proto__` key from a file stays an own key, reported as unknown by the validator
    else
      Object.defineProperty(into, key, {
        value: isPlainObject(value) ? structuredClone(value) : value,
        enumerable: true,
        writable: true,
        configurable: true,
      })
  }
}

/**
 * Loads the configuration: defaults ← JSON file ← environment ← flags; validates everything once (all violations
 * in one GW_ERR_CONFIG_INVALID with `.data` = the validator's errors) and returns it deep-frozen.
 */
export async function loadConfig(sources: ConfigSources = {}): Promise<Readonly<Config>> {
  const merged = structuredClone(DEFAULTS) as unknown as Record<string, Record<string, unknown>>
  if (sources.file) {
    let text: string
    try {
      text = await readFile(sources.file, 'utf8')
    } catch (err) {
      throw createError('GW_ERR_CONFIG_INVALID', [`cannot read ${sources.file}: ${(err as Error).message}`], {
        cause: err,
      })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (err) {
      throw createError('GW_ERR_CONFIG_INVALID', [`${sources.file} is not JSON: ${(err as Error).message}`], {
        cause: err,
      })
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw createError('GW_ERR_CONFIG_INVALID', [`${sources.file} must hold a JSON object`])
    }
    merge(merged, parsed as Record<string, unknown>)
  }
  const env = sources.env ?? process.env
  const fromEnv: Record<string, Record<string, unknown>> = {}
  for (const [name, [section, key, type]] of Object.entries(ENV_VARS)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    const path = [section, ...key.split('.')]
    let at: Record<string, unknown> = fromEnv
    for (const p of path.slice(0, -1)) {
      at[p] ??= {}
      at = at[p] as Record<string, unknown>
    }
    at[path[path.length - 1] as string] = coerce(name, raw, type)
  }
  merge(merged, fromEnv)
  merge(merged, sources.flags as Record<string, unknown> | undefined)
  const errors = validateConfig(OPTIONS, merged)
  if (errors.length > 0) {
    const text = errors
      .map((e) => {
        const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || 'config'
        const extra =
          e.keyword === 'additionalProperties' ? ` (\`${String(e.params.additionalProperty)}\`)` : ''
        return `\`${where}\` ${e.message ?? 'is invalid'}${extra}`
      })
      .join('; ')
    throw createError('GW_ERR_CONFIG_INVALID', [text], { data: errors })
  }
  return deepFreeze(merged as unknown as Config)
}
