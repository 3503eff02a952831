/**
 * One declaration per configuration option: its default, its rules and its environment variable together
 * (src/config/schema.ts). The defaults object, the JSON Schema, the environment table and the validator are all
 * derived from the declarations, so they cannot drift apart.
 * @module
 */

/** The rules an option's value must follow (a small subset of JSON Schema, checked by validate-config.ts). */
export interface OptionRules {
  minLength?: number
  pattern?: string
  minimum?: number
  exclusiveMinimum?: number
  maximum?: number
  values?: readonly string[]
}

/** A declared option: `T` is the type of its value. */
export interface Option<T> {
  readonly kind: 'string' | 'integer' | 'number' | 'boolean' | 'enum'
  readonly default: T
  readonly rules: OptionRules
  /** The environment variable that sets it, if any. */
  readonly env: string | undefined
}

/** A section of options; sections may nest. */
export interface OptionTree {
  readonly [key: string]: Option<unknown> | OptionTree
}

/** The value type of a tree of options (the shape of the configuration). */
export type ValuesOf<T> = {
  -readonly [K in keyof T]: T[K] extends Option<infer V> ? V : ValuesOf<T[K]>
}

interface Common {
  env?: string
}

function option<T>(kind: Option<T>['kind'], def: T, rules: OptionRules, env: string | undefined): Option<T> {
  return Object.freeze({ kind, default: def, rules: Object.freeze(rules), env })
}

/** A string option. */
export function string(
  def: string,
  o: Common & { minLength?: number; pattern?: string } = {},
): Option<string> {
  const { env, ...rules } = o
  return option('string', def, rules, env)
}

/** An integer option. */
export function integer(
  def: number,
  o: Common & { minimum?: number; maximum?: number } = {},
): Option<number> {
  const { env, ...rules } = o
  return option('integer', def, rules, env)
}

/** A number option (fractions allowed, e.g. seconds). */
export function number(
  def: number,
  o: Common & { minimum?: number; exclusiveMinimum?: number; maximum?: number } = {},
): Option<number> {
  const { env, ...rules } = o
  return option('number', def, rules, env)
}

/** A boolean option (`true`/`1`, `false`/`0` in the environment). */
export function boolean(def: boolean, o: Common = {}): Option<boolean> {
  return option('boolean', def, {}, o.env)
}

/** One of a few strings. */
export function oneOf<const V extends readonly string[]>(
  values: V,
  def: V[number],
  o: Common = {},
): Option<V[number]> {
  return option('enum', def, { values }, o.env)
}

/** Whether a tree entry is an option (not a section). */
export function isOption(x: Option<unknown> | OptionTree): x is Option<unknown> {
  return typeof (x as Option<unknown>).kind === 'string' && 'default' in x
}

/** Every option of a tree with its dotted path (`broker.port`), in declaration order. */
export function optionsOf(tree: OptionTree, prefix = ''): Array<[string, Option<unknown>]> {
  return Object.entries(tree).flatMap(([k, v]) =>
    isOption(v) ? [[`${prefix}${k}`, v] as [string, Option<unknown>]] : optionsOf(v, `${prefix}${k}.`),
  )
}

/** The defaults of a tree, as a fresh mutable object. */
export function defaultsOf<T extends OptionTree>(tree: T): ValuesOf<T> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(tree)) out[k] = isOption(v) ? v.default : defaultsOf(v)
  return out as ValuesOf<T>
}

/** The JSON Schema of a tree (objects closed to unknown keys), for tools and documentation. */
export function schemaOf(tree: OptionTree): Record<string, unknown> {
  const properties: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(tree)) {
    if (!isOption(v)) {
      properties[k] = schemaOf(v)
      continue
    }
    const { values, ...rest } = v.rules
    properties[k] = v.kind === 'enum' ? { enum: values } : { type: v.kind, ...rest }
  }
  return { type: 'object', additionalProperties: false, properties }
}
