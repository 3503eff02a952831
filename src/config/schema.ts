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
    /** MQTT client authentication and ACL on the embedded broker: `auto` (on unless `host` is loopback), `on`, `off`. */
    auth: 'auto' as 'auto' | 'on' | 'off',
    /** A persistent MQTT session (clean: false) on the embedded broker ends this long after its client disconnected. */
    sessionExpirySec: 7200,
    /** External broker URL; when set, the embedded broker is not started. */
    url: '',
    /** Credentials for the external broker. */
    username: '',
    password: '',
    /** TLS (`mqtts://`, `wss://`) to the external broker: the CA that signed its certificate (PEM file); empty: the system's CAs. */
    caFile: '',
    /** Client certificate and key (PEM files) when the external broker asks for one. */
    certFile: '',
    keyFile: '',
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
    /** Components one MQTT client may hold at once (a bundle registers one or two). */
    maxComponentsPerClient: 32,
    /** Components in the registry at once, every client together. */
    maxComponents: 256,
    /** Resources (patterns) one registration may list. */
    maxResourcesPerComponent: 128,
    /** Resources of every component together (they make the registry and openapi.json). */
    maxResources: 512,
    /** Registration POSTs per second per MQTT client, on average (token bucket refill). */
    registrationsPerSec: 5,
    /** Registration POSTs a client may send at once (bucket size). */
    registrationBurst: 20,
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
    /** Serve the web console at `/` and its logins (users, sessions); `false`: neither. */
    console: true,
    /** A console session ends after this long without a request. */
    sessionIdleSec: 1800,
    /** A console session ends this long after its login, however busy. */
    sessionMaxSec: 43_200,
    /** Requests per second each read/readwrite token may make on average (token bucket refill); 0: no limit. */
    rateLimitPerSec: 50,
    /** Requests a token may make at once before the refill rate applies (bucket size). */
    rateLimitBurst: 100,
    /** Failed authentication attempts per second per client address; 0: no limit. */
    rateLimitAnonPerSec: 5,
    /** Failed authentication attempts a client address may make at once. */
    rateLimitAnonBurst: 20,
    /**
     * More names (or `name:port`) the web service answers to, comma-separated, besides loopback names, IP literals,
     * `host` and (on a wildcard `host`) the machine's name; `*`: any (turns the DNS-rebinding defence off).
     */
    allowedHosts: '',
    /** A client must send its request's headers within this time (408 `GW_ERR_HTTP_TIMEOUT`, then closed). */
    headersTimeoutMs: 10_000,
    /** …and the whole request (headers and body) within this; streams after it are not concerned. */
    requestTimeoutMs: 30_000,
    /** An idle keep-alive connection is closed after this long without a request. */
    keepAliveTimeoutMs: 5000,
    /** Connections open at once (push streams included); more are closed at once, unanswered. 0: no cap. */
    maxConnections: 512,
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
  events: {
    /** Keep-alive of the push channel: an SSE comment line, or a WebSocket ping, this often. */
    heartbeatMs: 15_000,
    /** Events kept in memory for `Last-Event-ID` replay (the ring); 0: no replay. */
    replayEvents: 1000,
    /** The ring also holds at most this many bytes of event JSON (8 MiB). */
    replayBytes: 8_388_608,
    /** A client whose unsent data exceeds this is dropped (slow consumer), 1 MiB. */
    clientBufferBytes: 1_048_576,
    /** SSE and WebSocket clients at once. */
    maxClients: 100,
    /** Push clients one read or readwrite token may hold at once (admins are not counted per token). */
    maxClientsPerToken: 10,
    /** Of `maxClients`, slots only admins (admin tokens, console sessions) may take. */
    adminReserve: 10,
  },
  metrics: {
    /** Keep the gateway's metrics (docs/observability.md): `GET /metrics` and the console's bundle overview. */
    enabled: true,
    /** Serve `/metrics` on a separate listener on this interface, without a token; empty: on the web service, admin token. */
    host: '',
    /** Port of the separate listener (with `host`); 0 picks a free one. */
    port: 9464,
    /** One structured log line per HTTP request (id, token id, method, route class, status, duration, bundle). */
    accessLog: false,
  },
  limits: {
    /** How deep JSON from MQTT, HTTP and WebSocket may nest (wire-protocol.md §8.9); deeper is refused at intake. */
    jsonDepth: 64,
  },
  files: {
    /** Largest file one upload may store (256 MiB). */
    maxFileBytes: 268_435_456,
    /** All stored files together, uploads in progress included (512 MiB). */
    quotaBytes: 536_870_912,
    /** Parts (files and fields) of one multipart body. */
    maxParts: 20,
    /** Size of one non-file form field (`jsonData`), 64 KiB. */
    maxFieldBytes: 65_536,
    /** An upload nobody keeps is removed this long after it was stored (24 h); 0: never. */
    expirySec: 86_400,
    /** How often expired uploads are swept. */
    sweepSec: 600,
    /** An upload that sends no byte for this long is aborted (408) and its partial file removed. */
    stallTimeoutMs: 30_000,
    /** Lifetime of the one-time upload ticket the download helper gives a bundle. */
    ticketSec: 600,
  },
  manager: {
    /** A bundle that does not reach `running` (every manifest resource registered) within this time has failed. */
    startupTimeoutSec: 60,
    /** After an upgrade, a failure within this time of reaching `running` rolls back to the previous version. */
    probationSec: 60,
    /** The first restart after a failure waits this long; each further one twice as long. */
    restartInitialMs: 1000,
    /** The longest wait between restarts. */
    restartMaxMs: 60_000,
    /** This long in `running` resets the restart delay to `restartInitialMs`. */
    resetAfterSec: 60,
    /** This many failures within `crashLoopWindowSec` make a bundle `broken`. */
    crashLoopFailures: 5,
    crashLoopWindowSec: 600,
    /** A `broken` bundle is tried again this long after it broke. */
    brokenRetrySec: 900,
    /** A stopping bundle gets SIGKILL this long after SIGTERM. */
    stopTimeoutSec: 10,
    /** How often the resident memory of each bundle's process tree is sampled. */
    memorySampleSec: 5,
    /** Default memory limit of a bundle (MiB); 0: none. */
    memoryLimitMb: 0,
    /** The API token scope a bundle gets in `MX_API_TOKEN`: `read` or `readwrite`. */
    tokenScope: 'readwrite' as 'read' | 'readwrite',
    /** Each bundle's log file rotates at this size (1 MiB). */
    logMaxBytes: 1_048_576,
    /** Log files kept per bundle, the current one included. */
    logFiles: 5,
    /** Lines per second a bundle may log on average (token bucket refill); more are dropped and counted. */
    logLinesPerSec: 200,
    /** Lines a bundle may log at once before `logLinesPerSec` applies. */
    logBurst: 1000,
    /** Largest bundle tarball an upload may send, compressed (64 MiB). */
    uploadMaxBytes: 67_108_864,
    /** Largest size a bundle tarball may unpack to (256 MiB). */
    uploadMaxUnpackedBytes: 268_435_456,
    /** Most entries (files, directories) a bundle tarball may hold. */
    uploadMaxEntries: 10_000,
  },
}

/** The configuration type. */
export type Config = {
  broker: typeof DEFAULTS.broker
  controller: typeof DEFAULTS.controller
  http: typeof DEFAULTS.http
  data: typeof DEFAULTS.data
  log: typeof DEFAULTS.log
  events: typeof DEFAULTS.events
  metrics: typeof DEFAULTS.metrics
  limits: typeof DEFAULTS.limits
  files: typeof DEFAULTS.files
  manager: typeof DEFAULTS.manager
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
        auth: { enum: ['auto', 'on', 'off'] },
        sessionExpirySec: { type: 'integer', minimum: 1, maximum: 2_592_000 },
        url: { type: 'string', pattern: '^(|(mqtts?|wss?|tcp|ssl)://.+)$' },
        username: { type: 'string' },
        password: { type: 'string' },
        caFile: { type: 'string' },
        certFile: { type: 'string' },
        keyFile: { type: 'string' },
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
        maxComponentsPerClient: { type: 'integer', minimum: 1 },
        maxComponents: { type: 'integer', minimum: 1 },
        maxResourcesPerComponent: { type: 'integer', minimum: 1 },
        maxResources: { type: 'integer', minimum: 1 },
        registrationsPerSec: { type: 'integer', minimum: 1 },
        registrationBurst: { type: 'integer', minimum: 1 },
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
        console: { type: 'boolean' },
        sessionIdleSec: { type: 'integer', minimum: 60 },
        sessionMaxSec: { type: 'integer', minimum: 60 },
        rateLimitPerSec: { type: 'integer', minimum: 0 },
        rateLimitBurst: { type: 'integer', minimum: 1 },
        rateLimitAnonPerSec: { type: 'integer', minimum: 0 },
        rateLimitAnonBurst: { type: 'integer', minimum: 1 },
        allowedHosts: { type: 'string', pattern: '^[^\\s]*$' },
        headersTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
        keepAliveTimeoutMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        maxConnections: { type: 'integer', minimum: 0 },
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
    events: {
      type: 'object',
      additionalProperties: false,
      properties: {
        heartbeatMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
        replayEvents: { type: 'integer', minimum: 0, maximum: 1_000_000 },
        replayBytes: { type: 'integer', minimum: 0 },
        clientBufferBytes: { type: 'integer', minimum: 1024 },
        maxClients: { type: 'integer', minimum: 1 },
        maxClientsPerToken: { type: 'integer', minimum: 1 },
        adminReserve: { type: 'integer', minimum: 0 },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        accessLog: { type: 'boolean' },
      },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // the maximum is MAX_JSON_DEPTH_LIMIT (src/protocol/json-budget.ts): far below the stack overflow
        jsonDepth: { type: 'integer', minimum: 2, maximum: 512 },
      },
    },
    files: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxFileBytes: { type: 'integer', minimum: 1 },
        quotaBytes: { type: 'integer', minimum: 1 },
        maxParts: { type: 'integer', minimum: 1, maximum: 1000 },
        maxFieldBytes: { type: 'integer', minimum: 1, maximum: 1_048_576 },
        expirySec: { type: 'integer', minimum: 0 },
        sweepSec: { type: 'integer', minimum: 1, maximum: 86_400 },
        stallTimeoutMs: { type: 'integer', minimum: 100 },
        ticketSec: { type: 'integer', minimum: 1, maximum: 86_400 },
      },
    },
    manager: {
      type: 'object',
      additionalProperties: false,
      properties: {
        startupTimeoutSec: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
        probationSec: { type: 'number', minimum: 0, maximum: 86_400 },
        restartInitialMs: { type: 'integer', minimum: 10, maximum: 3_600_000 },
        restartMaxMs: { type: 'integer', minimum: 10, maximum: 3_600_000 },
        resetAfterSec: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
        crashLoopFailures: { type: 'integer', minimum: 1, maximum: 1000 },
        crashLoopWindowSec: { type: 'number', exclusiveMinimum: 0, maximum: 86_400 },
        brokenRetrySec: { type: 'number', exclusiveMinimum: 0, maximum: 604_800 },
        stopTimeoutSec: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
        memorySampleSec: { type: 'number', minimum: 0.1, maximum: 3600 },
        memoryLimitMb: { type: 'integer', minimum: 0 },
        tokenScope: { enum: ['read', 'readwrite'] },
        logMaxBytes: { type: 'integer', minimum: 1024 },
        logFiles: { type: 'integer', minimum: 1, maximum: 100 },
        logLinesPerSec: { type: 'integer', minimum: 1 },
        logBurst: { type: 'integer', minimum: 1 },
        uploadMaxBytes: { type: 'integer', minimum: 1 },
        uploadMaxUnpackedBytes: { type: 'integer', minimum: 1 },
        uploadMaxEntries: { type: 'integer', minimum: 1 },
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
  BUNDLEGATE_BROKER_AUTH: ['broker', 'auth', 'string'],
  BUNDLEGATE_BROKER_URL: ['broker', 'url', 'string'],
  BUNDLEGATE_BROKER_USERNAME: ['broker', 'username', 'string'],
  BUNDLEGATE_BROKER_PASSWORD: ['broker', 'password', 'string'],
  BUNDLEGATE_BROKER_CA_FILE: ['broker', 'caFile', 'string'],
  BUNDLEGATE_BROKER_CERT_FILE: ['broker', 'certFile', 'string'],
  BUNDLEGATE_BROKER_KEY_FILE: ['broker', 'keyFile', 'string'],
  BUNDLEGATE_MODE: ['controller', 'mode', 'string'],
  BUNDLEGATE_LIVENESS: ['controller', 'liveness', 'boolean'],
  BUNDLEGATE_LOCAL_ID: ['controller', 'localId', 'string'],
  BUNDLEGATE_HTTP_HOST: ['http', 'host', 'string'],
  BUNDLEGATE_HTTP_PORT: ['http', 'port', 'integer'],
  BUNDLEGATE_AUTH: ['http', 'auth', 'boolean'],
  BUNDLEGATE_DEBUG: ['http', 'debug', 'boolean'],
  BUNDLEGATE_CONSOLE: ['http', 'console', 'boolean'],
  BUNDLEGATE_SESSION_IDLE_SEC: ['http', 'sessionIdleSec', 'integer'],
  BUNDLEGATE_SESSION_MAX_SEC: ['http', 'sessionMaxSec', 'integer'],
  BUNDLEGATE_RATE_LIMIT_PER_SEC: ['http', 'rateLimitPerSec', 'integer'],
  BUNDLEGATE_RATE_LIMIT_BURST: ['http', 'rateLimitBurst', 'integer'],
  BUNDLEGATE_RATE_LIMIT_ANON_PER_SEC: ['http', 'rateLimitAnonPerSec', 'integer'],
  BUNDLEGATE_RATE_LIMIT_ANON_BURST: ['http', 'rateLimitAnonBurst', 'integer'],
  BUNDLEGATE_HTTP_ALLOWED_HOSTS: ['http', 'allowedHosts', 'string'],
  BUNDLEGATE_DATA_DIR: ['data', 'dir', 'string'],
  BUNDLEGATE_TOKEN_FILE: ['data', 'tokenFile', 'string'],
  LOG_LEVEL: ['log', 'level', 'string'],
  BUNDLEGATE_METRICS: ['metrics', 'enabled', 'boolean'],
  BUNDLEGATE_METRICS_HOST: ['metrics', 'host', 'string'],
  BUNDLEGATE_METRICS_PORT: ['metrics', 'port', 'integer'],
  BUNDLEGATE_ACCESS_LOG: ['metrics', 'accessLog', 'boolean'],
  BUNDLEGATE_JSON_DEPTH: ['limits', 'jsonDepth', 'integer'],
}
