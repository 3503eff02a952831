import { type ParseArgsConfig, parseArgs } from 'node:util'
import { createError } from '../errors.ts'

type Options = NonNullable<ParseArgsConfig['options']>
/** What `parse` returns for a given option table. */
export type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>

/** parseArgs (strict) with our usage error. */
export function parse<T extends Options>(argv: string[], options: T): Parsed<T> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw createError('GW_ERR_CLI_USAGE', [(err as Error).message])
  }
}
