import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import { deepFreeze } from '../deep-freeze.ts'
import { createError } from '../errors.ts'
import { CONFIG_SCHEMA, type Config, DEFAULTS, ENV_VARS } from './schema.ts'

/** Partial configuration, as a file or flags give it. */
export type ConfigInput = { [K in keyof Config]?: Partial<Config[K]> }

/** Where configuration comes from, lowest precedence first: defaults, file, environment, flags. */
export interface ConfigSources {
  file?: string | undefined
  env?: NodeJS.ProcessEnv
  flags?: ConfigInput
}

const validate = new Ajv({ allErrors: true, strict: false }).compile(CONFIG_SCHEMA)

function coerce(name: string, raw: string, type: 'string' | 'integer' | 'boolean'): unknown {
  if (type === 'string') return raw
  if (type === 'integer') return /^-?\d+$/.test(raw) ? Number(raw) : raw
  if (raw === 'true' || raw === '1') return true
  if (raw === 'false' || raw === '0') return false
  throw createError('GW_ERR_CONFIG_INVALID', [
    `Expected \`${name}\` to be true or false, got \`${raw}\` (string)`,
  ])
}

function merge(into: Record<string, Record<string, unknown>>, from: ConfigInput | undefined): void {
  if (!from) return
  for (const [section, values] of Object.entries(from)) {
    if (values === undefined) continue
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      into[section] = values as unknown as Record<string, unknown> // reported by the validator
      continue
    }
    into[section] = { ...(into[section] ?? {}), ...(values as Record<string, unknown>) }
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
    merge(merged, parsed as ConfigInput)
  }
  const env = sources.env ?? process.env
  const fromEnv: Record<string, Record<string, unknown>> = {}
  for (const [name, [section, key, type]] of Object.entries(ENV_VARS)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    fromEnv[section] = { ...(fromEnv[section] ?? {}), [key]: coerce(name, raw, type) }
  }
  merge(merged, fromEnv as ConfigInput)
  merge(merged, sources.flags)
  if (!validate(merged)) {
    const errors = validate.errors ?? []
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
