/**
 * Gateway configuration: schema, defaults, loading.
 * @module
 */
export { type ConfigInput, type ConfigSources, loadConfig } from './load-config.ts'
export { CONFIG_SCHEMA, type Config, DEFAULTS, ENV_VARS } from './schema.ts'
