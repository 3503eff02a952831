/**
 * The gateway configuration, declared once: each option with its default, its rules and its environment variable
 * (units in the names). The defaults object, the JSON Schema, the environment table and the `Config` type are
 * derived from these declarations; load-config.ts validates the merged result once and freezes it.
 * docs/config.md lists every option; test/docs/config.test.ts keeps both in step.
 * @module
 */
import {
  boolean,
  defaultsOf,
  integer,
  number,
  type OptionTree,
  oneOf,
  optionsOf,
  schemaOf,
  string,
  type ValuesOf,
} from './option.ts'

/** Every option: default, rules, environment variable. */
export const OPTIONS = {
  broker: {
    /** Embedded broker interface. Loopback: nothing outside the device reaches it. */
    host: string('127.0.0.1', { minLength: 1, env: 'BUNDLEGATE_BROKER_HOST' }),
    /** Embedded broker port. */
    port: integer(1883, { minimum: 0, maximum: 65_535, env: 'BUNDLEGATE_BROKER_PORT' }),
    /** MQTT client authentication and ACL on the embedded broker: `auto` (on unless `host` is loopback), `on`, `off`. */
    auth: oneOf(['auto', 'on', 'off'], 'auto', { env: 'BUNDLEGATE_BROKER_AUTH' }),
    /** A persistent MQTT session (clean: false) on the embedded broker ends this long after its client disconnected. */
    sessionExpirySec: integer(7200, { minimum: 1, maximum: 2_592_000 }),
    /** External broker URL; when set, the embedded broker is not started. */
    url: string('', { pattern: '^(|(mqtts?|wss?|tcp|ssl)://.+)$', env: 'BUNDLEGATE_BROKER_URL' }),
    /** Credentials for the external broker. */
    username: string('', { env: 'BUNDLEGATE_BROKER_USERNAME' }),
    password: string('', { env: 'BUNDLEGATE_BROKER_PASSWORD' }),
    /** TLS (`mqtts://`, `wss://`) to the external broker: the CA that signed its certificate (PEM file); empty: the system's CAs. */
    caFile: string('', { env: 'BUNDLEGATE_BROKER_CA_FILE' }),
    /** Client certificate and key (PEM files) when the external broker asks for one. */
    certFile: string('', { env: 'BUNDLEGATE_BROKER_CERT_FILE' }),
    keyFile: string('', { env: 'BUNDLEGATE_BROKER_KEY_FILE' }),
    /** Give up starting when the external broker does not answer within this time. */
    connectTimeoutMs: integer(10_000, { minimum: 100 }),
  },
  controller: {
    /** `default` (Bundlegate rules) or `sanji-compat` (the original's shared patterns and 423 locks). */
    mode: oneOf(['default', 'sanji-compat'], 'default', { env: 'BUNDLEGATE_MODE' }),
    /** Answer 503 at once for bundles whose MQTT connection went away. */
    liveness: boolean(true, { env: 'BUNDLEGATE_LIVENESS' }),
    /** Also serve `/<localId>/controller`, for bridged remote peers. Empty: off. */
    localId: string('', { pattern: '^[A-Za-z0-9_-]*$', env: 'BUNDLEGATE_LOCAL_ID' }),
    /** Components one MQTT client may hold at once (a bundle registers one or two). */
    maxComponentsPerClient: integer(32, { minimum: 1 }),
    /** Components in the registry at once, every client together. */
    maxComponents: integer(256, { minimum: 1 }),
    /** Resources (patterns) one registration may list. */
    maxResourcesPerComponent: integer(128, { minimum: 1 }),
    /** Resources of every component together (they make the registry and openapi.json). */
    maxResources: integer(512, { minimum: 1 }),
    /** Registration POSTs per second per MQTT client, on average (token bucket refill). */
    registrationsPerSec: integer(5, { minimum: 1 }),
    /** Registration POSTs a client may send at once (bucket size). */
    registrationBurst: integer(20, { minimum: 1 }),
  },
  fleet: {
    /** The fleet's central MQTT broker (docs/fleet.md); empty: no uplink. */
    url: string('', { pattern: '^(|(mqtts?|wss?|tcp|ssl)://.+)$', env: 'BUNDLEGATE_FLEET_URL' }),
    /** This gateway's id in the fleet, `cg-<letters, digits, _>`: `/api/v1/<localId>/…` on its peers reaches it. */
    // the id part is the `cg-<id>` of wire-protocol.md §7 (src/web/map-resource.ts), at most 64 characters
    localId: string('', { pattern: '^(|cg-[A-Za-z0-9_]{1,64})$', env: 'BUNDLEGATE_FLEET_LOCAL_ID' }),
    /** Credentials on the central broker: the user name must be `localId` for the documented ACL. */
    username: string('', { env: 'BUNDLEGATE_FLEET_USERNAME' }),
    password: string('', { env: 'BUNDLEGATE_FLEET_PASSWORD' }),
    /** TLS to the central broker (PEM files), as for `broker.*`. */
    caFile: string('', { env: 'BUNDLEGATE_FLEET_CA_FILE' }),
    certFile: string('', { env: 'BUNDLEGATE_FLEET_CERT_FILE' }),
    keyFile: string('', { env: 'BUNDLEGATE_FLEET_KEY_FILE' }),
    /** Added to a remote bundle's ttl: what a remote call may spend on the links. */
    linkBudgetMs: integer(2000, { minimum: 0, maximum: 600_000 }),
    /** Who may call this gateway over the uplink: `cg-hub=readwrite,cg-2=read`. Empty: nobody (403). */
    trust: string('', {
      pattern: '^(|cg-[A-Za-z0-9_]{1,64}=(read|readwrite)(,cg-[A-Za-z0-9_]{1,64}=(read|readwrite)){0,1023})$',
      env: 'BUNDLEGATE_FLEET_TRUST',
    }),
    /** A hub: no local bundles, its web service fronts the fleet (`bundlegate start --hub`). */
    hub: boolean(false, { env: 'BUNDLEGATE_FLEET_HUB' }),
    /** Remote calls in flight at once, sent and served each; more answer 503 at once. */
    maxInFlight: integer(256, { minimum: 1, maximum: 100_000 }),
    /** After our (re)connect, a peer whose presence has not come again within this time counts as offline. */
    reannounceSec: integer(40, { minimum: 1, maximum: 3600 }),
  },
  http: {
    /** Web service interface. Loopback by default; `0.0.0.0` exposes it on the LAN. */
    host: string('127.0.0.1', { minLength: 1, env: 'BUNDLEGATE_HTTP_HOST' }),
    /** Web service port; 0 picks a free one. */
    port: integer(8080, { minimum: 0, maximum: 65_535, env: 'BUNDLEGATE_HTTP_PORT' }),
    /** Require an API token on /api/v1 (off only for development: every caller is then admin). */
    auth: boolean(true, { env: 'BUNDLEGATE_AUTH' }),
    /** Keep `stack` and `traceback` in error bodies. */
    debug: boolean(false, { env: 'BUNDLEGATE_DEBUG' }),
    /** Serve the web console at `/` and its logins (users, sessions); `false`: neither. */
    console: boolean(true, { env: 'BUNDLEGATE_CONSOLE' }),
    /** A console session ends after this long without a request. */
    sessionIdleSec: integer(1800, { minimum: 60, env: 'BUNDLEGATE_SESSION_IDLE_SEC' }),
    /** A console session ends this long after its login, however busy. */
    sessionMaxSec: integer(43_200, { minimum: 60, env: 'BUNDLEGATE_SESSION_MAX_SEC' }),
    /** Requests per second each read/readwrite token may make on average (token bucket refill); 0: no limit. */
    rateLimitPerSec: integer(50, { minimum: 0, env: 'BUNDLEGATE_RATE_LIMIT_PER_SEC' }),
    /** Requests a token may make at once before the refill rate applies (bucket size). */
    rateLimitBurst: integer(100, { minimum: 1, env: 'BUNDLEGATE_RATE_LIMIT_BURST' }),
    /** Failed authentication attempts per second per client address; 0: no limit. */
    rateLimitAnonPerSec: integer(5, { minimum: 0, env: 'BUNDLEGATE_RATE_LIMIT_ANON_PER_SEC' }),
    /** Failed authentication attempts a client address may make at once. */
    rateLimitAnonBurst: integer(20, { minimum: 1, env: 'BUNDLEGATE_RATE_LIMIT_ANON_BURST' }),
    /**
     * More names (or `name:port`) the web service answers to, comma-separated, besides loopback names, IP literals,
     * `host` and (on a wildcard `host`) the machine's name; `*`: any (turns the DNS-rebinding defence off).
     */
    allowedHosts: string('', { pattern: '^[^\\s]*$', env: 'BUNDLEGATE_HTTP_ALLOWED_HOSTS' }),
    /** A client must send its request's headers within this time (408 `GW_ERR_HTTP_TIMEOUT`, then closed). */
    headersTimeoutMs: integer(10_000, { minimum: 100, maximum: 600_000 }),
    /** …and the whole request (headers and body) within this; streams after it are not concerned. */
    requestTimeoutMs: integer(30_000, { minimum: 100, maximum: 3_600_000 }),
    /** An idle keep-alive connection is closed after this long without a request. */
    keepAliveTimeoutMs: integer(5000, { minimum: 100, maximum: 600_000 }),
    /** Connections open at once (push streams included); more are closed at once, unanswered. 0: no cap. */
    maxConnections: integer(512, { minimum: 0 }),
  },
  data: {
    /** Where the gateway keeps its state (tokens.db). */
    dir: string('data', { minLength: 1, env: 'BUNDLEGATE_DATA_DIR' }),
    /** Root token file; empty: /etc/mx-api-token when writable, else <data.dir>/mx-api-token. */
    tokenFile: string('', { env: 'BUNDLEGATE_TOKEN_FILE' }),
  },
  log: {
    /** pino level: fatal, error, warn, info, debug, trace, silent. */
    level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info', {
      env: 'LOG_LEVEL',
    }),
  },
  events: {
    /** Keep-alive of the push channel: an SSE comment line, or a WebSocket ping, this often. */
    heartbeatMs: integer(15_000, { minimum: 100, maximum: 3_600_000 }),
    /** Events kept in memory for `Last-Event-ID` replay (the ring); 0: no replay. */
    replayEvents: integer(1000, { minimum: 0, maximum: 1_000_000 }),
    /** The ring also holds at most this many bytes of event JSON (8 MiB). */
    replayBytes: integer(8_388_608, { minimum: 0 }),
    /** A client whose unsent data exceeds this is dropped (slow consumer), 1 MiB. */
    clientBufferBytes: integer(1_048_576, { minimum: 1024 }),
    /** SSE and WebSocket clients at once. */
    maxClients: integer(100, { minimum: 1 }),
    /** Push clients one read or readwrite token may hold at once (admins are not counted per token). */
    maxClientsPerToken: integer(10, { minimum: 1 }),
    /** Of `maxClients`, slots only admins (admin tokens, console sessions) may take. */
    adminReserve: integer(10, { minimum: 0 }),
  },
  manager: {
    /** A bundle that does not reach `running` (every manifest resource registered) within this time has failed. */
    startupTimeoutSec: number(60, { exclusiveMinimum: 0, maximum: 3600 }),
    /** After an upgrade, a failure within this time of reaching `running` rolls back to the previous version. */
    probationSec: number(60, { minimum: 0, maximum: 86_400 }),
    /** The first restart after a failure waits this long; each further one twice as long. */
    restartInitialMs: integer(1000, { minimum: 10, maximum: 3_600_000 }),
    /** The longest wait between restarts. */
    restartMaxMs: integer(60_000, { minimum: 10, maximum: 3_600_000 }),
    /** This long in `running` resets the restart delay to `restartInitialMs`. */
    resetAfterSec: number(60, { exclusiveMinimum: 0, maximum: 86_400 }),
    /** This many failures within `crashLoopWindowSec` make a bundle `broken`. */
    crashLoopFailures: integer(5, { minimum: 1, maximum: 1000 }),
    /** The window of `crashLoopFailures`. */
    crashLoopWindowSec: number(600, { exclusiveMinimum: 0, maximum: 86_400 }),
    /** A `broken` bundle is tried again this long after it broke. */
    brokenRetrySec: number(900, { exclusiveMinimum: 0, maximum: 604_800 }),
    /** A stopping bundle gets SIGKILL this long after SIGTERM. */
    stopTimeoutSec: number(10, { exclusiveMinimum: 0, maximum: 600 }),
    /** How often the resident memory of each bundle's process tree is sampled. */
    memorySampleSec: number(5, { minimum: 0.1, maximum: 3600 }),
    /** Default memory limit of a bundle (MiB); 0: none. */
    memoryLimitMb: integer(0, { minimum: 0 }),
    /** The API token scope a bundle gets in `MX_API_TOKEN`: `read` or `readwrite`. */
    tokenScope: oneOf(['read', 'readwrite'], 'readwrite'),
    /** Each bundle's log file rotates at this size (1 MiB). */
    logMaxBytes: integer(1_048_576, { minimum: 1024 }),
    /** Log files kept per bundle, the current one included. */
    logFiles: integer(5, { minimum: 1, maximum: 100 }),
    /** Lines per second a bundle may log on average (token bucket refill); more are dropped and counted. */
    logLinesPerSec: integer(200, { minimum: 1 }),
    /** Lines a bundle may log at once before `logLinesPerSec` applies. */
    logBurst: integer(1000, { minimum: 1 }),
    /** Largest bundle tarball an upload may send, compressed (64 MiB). */
    uploadMaxBytes: integer(67_108_864, { minimum: 1 }),
    /** Largest size a bundle tarball may unpack to (256 MiB). */
    uploadMaxUnpackedBytes: integer(268_435_456, { minimum: 1 }),
    /** Most entries (files, directories) a bundle tarball may hold. */
    uploadMaxEntries: integer(10_000, { minimum: 1 }),
  },
  metrics: {
    /** Keep the gateway's metrics (docs/observability.md): `GET /metrics` and the console's bundle overview. */
    enabled: boolean(true, { env: 'BUNDLEGATE_METRICS' }),
    /** Serve `/metrics` on a separate listener on this interface, without a token; empty: on the web service, admin token. */
    host: string('', { env: 'BUNDLEGATE_METRICS_HOST' }),
    /** Port of the separate listener (with `host`); 0 picks a free one. */
    port: integer(9464, { minimum: 0, maximum: 65_535, env: 'BUNDLEGATE_METRICS_PORT' }),
    /** One structured log line per HTTP request (id, token id, method, route class, status, duration, bundle). */
    accessLog: boolean(false, { env: 'BUNDLEGATE_ACCESS_LOG' }),
  },
  limits: {
    /** How deep JSON from MQTT, HTTP and WebSocket may nest (wire-protocol.md §8.9); deeper is refused at intake. */
    // the maximum is MAX_JSON_DEPTH_LIMIT (src/protocol/json-budget.ts): far below the stack overflow
    jsonDepth: integer(64, { minimum: 2, maximum: 512, env: 'BUNDLEGATE_JSON_DEPTH' }),
  },
  files: {
    /** Largest file one upload may store (256 MiB). */
    maxFileBytes: integer(268_435_456, { minimum: 1 }),
    /** All stored files together, uploads in progress included (512 MiB). */
    quotaBytes: integer(536_870_912, { minimum: 1 }),
    /** Parts (files and fields) of one multipart body. */
    maxParts: integer(20, { minimum: 1, maximum: 1000 }),
    /** Size of one non-file form field (`jsonData`), 64 KiB. */
    maxFieldBytes: integer(65_536, { minimum: 1, maximum: 1_048_576 }),
    /** An upload nobody keeps is removed this long after it was stored (24 h); 0: never. */
    expirySec: integer(86_400, { minimum: 0 }),
    /** How often expired uploads are swept. */
    sweepSec: integer(600, { minimum: 1, maximum: 86_400 }),
    /** An upload that sends no byte for this long is aborted (408) and its partial file removed. */
    stallTimeoutMs: integer(30_000, { minimum: 100 }),
    /** Lifetime of the one-time upload ticket the download helper gives a bundle. */
    ticketSec: integer(600, { minimum: 1, maximum: 86_400 }),
  },
} as const satisfies OptionTree

/** The configuration type. */
export type Config = ValuesOf<typeof OPTIONS>

/** Every option with its default. */
export const DEFAULTS: Config = defaultsOf(OPTIONS)

/** JSON Schema of the configuration (for tools and documentation; load-config.ts checks the declarations directly). */
export const CONFIG_SCHEMA: Record<string, unknown> = schemaOf(OPTIONS)

/** Environment variables → [section, key within the section (dotted when nested), value type]. */
export const ENV_VARS: Readonly<
  Record<string, readonly [keyof Config, string, 'string' | 'integer' | 'number' | 'boolean']>
> = Object.fromEntries(
  optionsOf(OPTIONS).flatMap(([path, o]) => {
    if (o.env === undefined) return []
    const [section, ...rest] = path.split('.')
    const type = o.kind === 'enum' ? 'string' : o.kind
    return [[o.env, [section as keyof Config, rest.join('.'), type] as const]]
  }),
)
