/**
 * The gateway configuration: one schema, one defaults object (units in the names), validated once and frozen.
 * docs/config.md lists every option; test/docs/config.test.ts keeps both in step.
 * @module
 */

/** Every option, with its default. */
export const DEFAULTS = {
  broker: {
    /** Embedded broker interface. Loopback: nothing outside the device reaches it. */
    host: '127.0.0.1',
    /** Embedded broker port. */
    port: 1883,
    /** External broker URL; when set, the embedded broker is not started. */
    url: '',
    /** Credentials for the external broker. */
    username: '',
    password: '',
    /** Give up starting when the external broker does not answer within this time. */
    connectTimeoutMs: 10_000,
  },
  controller: {
    /** `default` (Bundlegate rules) or `sanji-compat` (the original's shared patterns and 423 locks). */
    mode: 'default' as 'default' | 'sanji-compat',
    /** Answer 503 at once for bundles whose MQTT connection went away. */
    liveness: true,
    /** Also serve `/<localId>/controller`, for bridged remote peers. Empty: off. */
    localId: '',
  },
  http: {
    /** Web service interface. Loopback by default; `0.0.0.0` exposes it on the LAN. */
    host: '127.0.0.1',
    /** Web service port; 0 picks a free one. */
    port: 8080,
    /** Require an API token on /api/v1 (off only for development: every caller is then admin). */
    auth: true,
    /** Keep `stack` and `traceback` in error bodies. */
    debug: false,
  },
  data: {
    /** Where the gateway keeps its state (tokens.db). */
    dir: 'data',
    /** Root token file; empty: /etc/mx-api-token when writable, else <data.dir>/mx-api-token. */
    tokenFile: '',
  },
  log: {
    /** pino level: fatal, error, warn, info, debug, trace, silent. */
    level: 'info',
  },
}

/** The configuration type. */
export type Config = {
  broker: typeof DEFAULTS.broker
  controller: typeof DEFAULTS.controller
  http: typeof DEFAULTS.http
  data: typeof DEFAULTS.data
  log: typeof DEFAULTS.log
}

/** JSON Schema of the configuration (the validator reports every violation at once). */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    broker: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        url: { type: 'string', pattern: '^(|(mqtts?|wss?|tcp|ssl)://.+)$' },
        username: { type: 'string' },
        password: { type: 'string' },
        connectTimeoutMs: { type: 'integer', minimum: 100 },
      },
    },
    controller: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { enum: ['default', 'sanji-compat'] },
        liveness: { type: 'boolean' },
        localId: { type: 'string', pattern: '^[A-Za-z0-9_-]*$' },
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        auth: { type: 'boolean' },
        debug: { type: 'boolean' },
      },
    },
    data: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dir: { type: 'string', minLength: 1 },
        tokenFile: { type: 'string' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
      },
    },
  },
} as const

/** Environment variables → config paths. */
export const ENV_VARS: Readonly<
  Record<string, readonly [keyof Config, string, 'string' | 'integer' | 'boolean']>
> = {
  BUNDLEGATE_BROKER_HOST: ['broker', 'host', 'string'],
  BUNDLEGATE_BROKER_PORT: ['broker', 'port', 'integer'],
  BUNDLEGATE_BROKER_URL: ['broker', 'url', 'string'],
  BUNDLEGATE_BROKER_USERNAME: ['broker', 'username', 'string'],
  BUNDLEGATE_BROKER_PASSWORD: ['broker', 'password', 'string'],
  BUNDLEGATE_MODE: ['controller', 'mode', 'string'],
  BUNDLEGATE_LIVENESS: ['controller', 'liveness', 'boolean'],
  BUNDLEGATE_LOCAL_ID: ['controller', 'localId', 'string'],
  BUNDLEGATE_HTTP_HOST: ['http', 'host', 'string'],
  BUNDLEGATE_HTTP_PORT: ['http', 'port', 'integer'],
  BUNDLEGATE_AUTH: ['http', 'auth', 'boolean'],
  BUNDLEGATE_DEBUG: ['http', 'debug', 'boolean'],
  BUNDLEGATE_DATA_DIR: ['data', 'dir', 'string'],
  BUNDLEGATE_TOKEN_FILE: ['data', 'tokenFile', 'string'],
  LOG_LEVEL: ['log', 'level', 'string'],
}
