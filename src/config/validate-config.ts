/**
 * Checks a merged configuration against its declarations (option.ts), every violation at once, in the words and
 * shape of JSON Schema validators (`instancePath`, `keyword`, `message`, `params`), without loading one at start.
 * @module
 */
import { isOption, type Option, type OptionTree } from './option.ts'

/** One violation. */
export interface ConfigViolation {
  /** `/broker/port`; '' for the whole configuration. */
  instancePath: string
  keyword: string
  message: string
  params: Record<string, unknown>
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkValue(path: string, opt: Option<unknown>, v: unknown, out: ConfigViolation[]): void {
  const add = (keyword: string, message: string, params: Record<string, unknown> = {}): void => {
    out.push({ instancePath: path, keyword, message, params })
  }
  const r = opt.rules
  if (opt.kind === 'enum') {
    if (!r.values?.includes(v as string))
      add('enum', 'must be equal to one of the allowed values', { allowedValues: r.values })
    return
  }
  if (opt.kind === 'boolean') {
    if (typeof v !== 'boolean') add('type', 'must be boolean', { type: 'boolean' })
    return
  }
  if (opt.kind === 'integer' || opt.kind === 'number') {
    if (typeof v !== 'number' || !(opt.kind === 'integer' ? Number.isInteger(v) : Number.isFinite(v))) {
      add('type', `must be ${opt.kind}`, { type: opt.kind })
      return
    }
    if (r.exclusiveMinimum !== undefined && v <= r.exclusiveMinimum)
      add('exclusiveMinimum', `must be > ${r.exclusiveMinimum}`, {
        comparison: '>',
        limit: r.exclusiveMinimum,
      })
    if (r.minimum !== undefined && v < r.minimum)
      add('minimum', `must be >= ${r.minimum}`, { comparison: '>=', limit: r.minimum })
    if (r.maximum !== undefined && v > r.maximum)
      add('maximum', `must be <= ${r.maximum}`, { comparison: '<=', limit: r.maximum })
    return
  }
  if (typeof v !== 'string') {
    add('type', 'must be string', { type: 'string' })
    return
  }
  if (r.minLength !== undefined && v.length < r.minLength)
    add('minLength', `must NOT have fewer than ${r.minLength} characters`, { limit: r.minLength })
  if (r.pattern !== undefined && !new RegExp(r.pattern, 'u').test(v))
    add('pattern', `must match pattern "${r.pattern}"`, { pattern: r.pattern })
}

/** Every violation of `value` against `tree`; [] when it is valid. */
export function validateConfig(tree: OptionTree, value: unknown, path = ''): ConfigViolation[] {
  const out: ConfigViolation[] = []
  if (!isPlainObject(value)) {
    out.push({ instancePath: path, keyword: 'type', message: 'must be object', params: { type: 'object' } })
    return out
  }
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(tree, key))
      out.push({
        instancePath: path,
        keyword: 'additionalProperties',
        message: 'must NOT have additional properties',
        params: { additionalProperty: key },
      })
  }
  for (const [key, decl] of Object.entries(tree)) {
    if (!Object.hasOwn(value, key)) continue // the defaults fill every key; a missing one cannot happen
    const v = value[key]
    if (isOption(decl)) checkValue(`${path}/${key}`, decl, v, out)
    else out.push(...validateConfig(decl, v, `${path}/${key}`))
  }
  return out
}
