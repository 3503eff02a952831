import type { ConfigInput } from '../config/index.ts'

/** Options shared by the commands that read the gateway configuration. */
export const CONFIG_OPTIONS = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'token-file': { type: 'string' },
} as const

/** `--data-dir` and `--token-file` as configuration flags. */
export function dataFlags(values: {
  'data-dir'?: string | undefined
  'token-file'?: string | undefined
}): ConfigInput {
  const data: Record<string, unknown> = {}
  if (values['data-dir'] !== undefined) data.dir = values['data-dir']
  if (values['token-file'] !== undefined) data.tokenFile = values['token-file']
  return Object.keys(data).length > 0 ? { data } : {}
}
