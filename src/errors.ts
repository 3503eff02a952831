/**
 * The one table of Bundlegate errors: code → message template and HTTP status. Codes follow
 * `GW_ERR_<AREA>_<WHAT>`; docs/errors.md lists every one and test/docs/errors.test.ts keeps both in step.
 * A released code is never reused for another meaning.
 * @module
 */

export const ERRORS = {
  GW_ERR_CONFIG_INVALID: { status: 500, message: 'Invalid configuration: %s' },
  GW_ERR_MANIFEST_INVALID: { status: 500, message: 'Invalid bundle.json (%s): %s' },
  GW_ERR_MANIFEST_READ: { status: 500, message: 'Cannot read bundle.json at %s: %s' },
  GW_ERR_HOST_MAIN: { status: 500, message: 'Bundle %s cannot run in the shared host (%s): %s' },
  GW_ERR_STORE_INVALID: { status: 500, message: 'Config store %s: %s' },
  GW_ERR_STORE_LOAD: { status: 500, message: 'Config store %s cannot be loaded: %s' },
  GW_ERR_STORE_WRITE: { status: 500, message: 'Config store %s cannot be written: %s' },
  GW_ERR_COLLECTION_INVALID: { status: 400, message: 'Invalid item: %s' },
  GW_ERR_REQUEST_TIMEOUT: { status: 504, message: 'no answer to %s %s within %d ms' },
  GW_ERR_BUNDLE_NOT_CONNECTED: { status: 503, message: 'bundle %s is not connected to the broker' },
  GW_ERR_BUNDLE_STOPPED: { status: 503, message: 'bundle %s is stopping' },
  GW_ERR_BROKER_LISTEN: { status: 500, message: 'Embedded broker cannot listen on %s:%d: %s' },
  GW_ERR_HTTP_LISTEN: { status: 500, message: 'Web service cannot listen on %s:%d: %s' },
  GW_ERR_METRICS_LISTEN: { status: 500, message: 'Metrics listener cannot listen on %s:%d: %s' },
  GW_ERR_BROKER_CONNECT: { status: 503, message: 'Cannot connect to the MQTT broker at %s: %s' },
  GW_ERR_BROKER_CREDENTIAL_INVALID: { status: 400, message: '%s' },
  GW_ERR_BROKER_CREDENTIAL_NOT_FOUND: { status: 404, message: "no active broker credential for '%s'" },
  GW_ERR_BROKER_CREDENTIAL_STORE: { status: 500, message: 'Broker credential store %s: %s' },
  GW_ERR_BROKER_CREDENTIAL_FULL: {
    status: 507,
    message: 'Broker credential store %s cannot be written: no space left on the device (%s)',
  },
  GW_ERR_BROKER_CREDENTIAL_WRITE: {
    status: 503,
    message: 'Broker credential store %s cannot be written: %s',
  },
  GW_ERR_CLI_USAGE: { status: 400, message: '%s' },
  GW_ERR_CLI_HTTP: { status: 503, message: 'cannot reach the web service at %s: %s' },
  GW_ERR_TLS_FILE: { status: 500, message: 'Cannot read the TLS file of %s (%s): %s' },
  GW_ERR_TOKEN_INVALID: { status: 400, message: '%s' },
  GW_ERR_TOKEN_NOT_FOUND: { status: 404, message: "no token with id '%s'" },
  GW_ERR_TOKEN_STORE: { status: 500, message: 'Token store %s: %s' },
  GW_ERR_TOKEN_FILE: { status: 500, message: 'Root token file %s cannot be %s: %s' },
  GW_ERR_TOKEN_FILE_FOREIGN: {
    status: 500,
    message:
      'Root token file %s holds a token this gateway did not issue (not in %s): another install may use it. Fix: another file for this gateway (--token-file, data.tokenFile), or "bundlegate token adopt-root" to take it over, or remove the file',
  },
  GW_ERR_TOKEN_STORE_FULL: {
    status: 507,
    message: 'Token store %s cannot be written: no space left on the device (%s)',
  },
  GW_ERR_TOKEN_STORE_WRITE: { status: 503, message: 'Token store %s cannot be written: %s' },
  GW_ERR_DATA_DIR_UNWRITABLE: { status: 500, message: 'Data directory %s is not writable: %s' },
  GW_ERR_AUTH_REQUIRED: { status: 401, message: 'an API token is required (mx-api-token header)' },
  GW_ERR_AUTH_INVALID: { status: 401, message: 'the API token is %s' },
  GW_ERR_SCOPE: { status: 403, message: 'a %s token may not %s %s' },
  GW_ERR_LOGIN_FAILED: { status: 401, message: 'wrong username or password' },
  GW_ERR_CSRF: {
    status: 403,
    message: 'a write with the console session needs the x-csrf-token header it got at login',
  },
  GW_ERR_CROSS_ORIGIN: {
    status: 403,
    message: "the console session cookie is not accepted from another origin's page (Origin %s)",
  },
  GW_ERR_PASSWORD_POLICY: { status: 400, message: 'the new password is not acceptable: %s' },
  GW_ERR_PASSWORD_CHANGE_REQUIRED: {
    status: 403,
    message: 'the password must be changed first (POST /api/v1/auth/password)',
  },
  GW_ERR_SESSION_REQUIRED: { status: 403, message: 'only a console session can %s' },
  GW_ERR_USER_STORE: { status: 500, message: 'User store %s: %s' },
  GW_ERR_USER_STORE_FULL: {
    status: 507,
    message: 'User store %s cannot be written: no space left on the device (%s)',
  },
  GW_ERR_USER_STORE_WRITE: { status: 503, message: 'User store %s cannot be written: %s' },
  GW_ERR_EVENTS_PATTERN: { status: 400, message: '%s' },
  GW_ERR_EVENTS_MESSAGE: { status: 400, message: '%s' },
  GW_ERR_EVENTS_UPGRADE_REQUIRED: {
    status: 426,
    message: '/api/v1/ws is a WebSocket endpoint: send an Upgrade: websocket request',
  },
  GW_ERR_EVENTS_TOO_MANY_CLIENTS: { status: 503, message: 'too many event clients (at most %d)' },
  GW_ERR_EVENTS_TOKEN_CLIENTS: {
    status: 429,
    message: 'this token already holds its %d event streams; close one first',
  },
  GW_ERR_FILE_NOT_FOUND: { status: 404, message: "no file with id '%s'" },
  GW_ERR_FILE_TOO_LARGE: { status: 413, message: 'the file exceeds %d bytes' },
  GW_ERR_FILE_QUOTA: { status: 507, message: 'the file store is full (quota %d bytes)' },
  GW_ERR_FILE_DISK_FULL: { status: 507, message: 'no space left on the device for the file' },
  GW_ERR_FILE_TOO_MANY_PARTS: { status: 413, message: 'the multipart body has more than %d parts' },
  GW_ERR_FILE_FIELD_TOO_LARGE: { status: 413, message: "form field '%s' exceeds %d bytes" },
  GW_ERR_FILE_NAME: { status: 400, message: 'invalid file name %s: %s' },
  GW_ERR_FILE_NO_FILE: { status: 400, message: '%s' },
  GW_ERR_FILE_MEDIA_TYPE: {
    status: 415,
    message: 'uploads take multipart/form-data or application/octet-stream, got %s',
  },
  GW_ERR_FILE_TIMEOUT: { status: 408, message: 'the upload stalled: no data for %d ms' },
  GW_ERR_FILE_INCOMPLETE: { status: 400, message: 'the upload ended before it was complete: %s' },
  GW_ERR_FILE_RANGE: { status: 416, message: 'range not satisfiable: %s (size %d)' },
  GW_ERR_FILE_TICKET: { status: 401, message: 'the upload ticket is missing, unknown, used or expired' },
  GW_ERR_FILE_NO_RESOURCE: { status: 400, message: 'No resource' },
  GW_ERR_FILE_PUBLISH: { status: 502, message: 'the file cannot be published: %s' },
  GW_ERR_MANAGER_NOT_FOUND: { status: 404, message: "no managed bundle '%s'" },
  GW_ERR_MANAGER_MANIFEST: { status: 400, message: 'Invalid bundle.json of the bundle to install: %s' },
  GW_ERR_MANAGER_CONFLICT: { status: 409, message: "resource '%s' of %s is already provided by '%s'" },
  GW_ERR_MANAGER_DEPENDENCY: { status: 409, message: 'bundle %s: %s' },
  GW_ERR_MANAGER_DOWNGRADE: {
    status: 409,
    message:
      'bundle %s: version %s is lower than the installed %s (install with allowDowngrade to downgrade)',
  },
  GW_ERR_MANAGER_MAIN: { status: 400, message: 'bundle %s cannot be started: %s' },
  GW_ERR_MANAGER_NO_PREVIOUS: { status: 409, message: 'bundle %s has no previous version to roll back to' },
  GW_ERR_MANAGER_REQUIRED: { status: 409, message: 'bundle %s is a dependency of %s' },
  GW_ERR_MANAGER_STORE: { status: 500, message: 'Bundle manager store %s: %s' },
  GW_ERR_MANAGER_CLOSED: { status: 503, message: 'the bundle manager is stopping' },
  GW_ERR_MANAGER_BUNDLE_UNAVAILABLE: { status: 503, message: "bundle '%s' is %s%s" },
  GW_ERR_MANAGER_MEDIA_TYPE: {
    status: 415,
    message: "a bundle upload is a gzip'ed tar (content-type application/gzip), got %s",
  },
  GW_ERR_MANAGER_LOG_FOLLOWERS: { status: 503, message: 'too many log followers (at most %d)' },
  GW_ERR_ROUTE_NOT_FOUND: { status: 404, message: "no bundle provides '%s'" },
  GW_ERR_ROUTE_NO_MODEL: { status: 403, message: 'request forbidden' },
  GW_ERR_BUNDLE_TIMEOUT: { status: 504, message: "bundle '%s' did not answer within %d ms" },
  GW_ERR_BUNDLE_OFFLINE: { status: 503, message: "bundle '%s' is offline" },
  GW_ERR_BUNDLE_BAD_RESPONSE: { status: 502, message: "bundle '%s' answered with invalid code %s" },
  GW_ERR_BUNDLE_ERROR: { status: 500, message: '%s' },
  GW_ERR_RESOURCE_LOCKED: { status: 423, message: 'resource is locked' },
  GW_ERR_FLEET_UNKNOWN: { status: 503, message: "gateway '%s' is not known in the fleet" },
  GW_ERR_FLEET_OFFLINE: { status: 503, message: "gateway '%s' is offline (last seen %s)" },
  GW_ERR_FLEET_UPLINK_DOWN: { status: 503, message: 'the uplink to the fleet broker is down (%s)' },
  GW_ERR_FLEET_TIMEOUT: { status: 504, message: "gateway '%s' did not answer within %d ms" },
  GW_ERR_FLEET_UNTRUSTED: { status: 403, message: "gateway '%s' does not trust '%s'" },
  GW_ERR_FLEET_SCOPE: { status: 403, message: "gateway '%s' trusts '%s' to read only: %s refused" },
  GW_ERR_FLEET_BAD_REQUEST: { status: 400, message: 'bad remote request: %s' },
  GW_ERR_FLEET_BUSY: { status: 503, message: 'too many remote calls in flight (at most %d)' },
  GW_ERR_PAYLOAD_TOO_LARGE: { status: 413, message: 'payload exceeds %d bytes' },
  GW_ERR_BAD_REQUEST: { status: 400, message: '%s' },
  GW_ERR_JSON_TOO_DEEP: {
    status: 400,
    message: 'the JSON nests %d levels deep, over the limit of %d (limits.jsonDepth)',
  },
  GW_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'request bodies must be JSON (content-type application/json), got %s',
  },
  GW_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  GW_ERR_RATE_LIMITED: { status: 429, message: 'too many requests %s; retry in %d s' },
  GW_ERR_NOT_FOUND: { status: 404, message: 'no such path: %s %s' },
  GW_ERR_UNAVAILABLE: { status: 503, message: '%s' },
  GW_ERR_INTERNAL: { status: 500, message: 'internal server error' },
  GW_ERR_HTTP_HOST_INVALID: { status: 400, message: 'bad Host: %s' },
  GW_ERR_HTTP_HOST_NOT_ALLOWED: {
    status: 421,
    message:
      'this gateway does not serve the host %s (add it to http.allowedHosts if it is one of its names)',
  },
  GW_ERR_HTTP_BAD_REQUEST: { status: 400, message: 'malformed HTTP request (%s)' },
  GW_ERR_HTTP_HEADERS_TOO_LARGE: { status: 431, message: 'the request headers exceed %d bytes' },
  GW_ERR_HTTP_TIMEOUT: { status: 408, message: 'the request was not received within %s' },
  GW_ERR_HTTP_CONTENT_TOO_LARGE: { status: 413, message: 'a part of the request is too large (%s)' },
  GW_ERR_MANAGER_TARBALL_FORMAT: { status: 400, message: "the upload is not a valid gzip'ed tar: %s" },
  GW_ERR_MANAGER_TARBALL_ENTRY: { status: 400, message: 'tarball entry %s refused: %s' },
  GW_ERR_MANAGER_TARBALL_TOO_LARGE: { status: 413, message: 'the tarball is too large: %s' },
  GW_ERR_MANAGER_TARBALL_NO_MANIFEST: { status: 400, message: 'the tarball holds no bundle.json (%s)' },
  GW_ERR_MANAGER_TARBALL_WRITE: { status: 500, message: 'cannot unpack the tarball into %s: %s' },
} as const satisfies Record<string, { status: number; message: string }>

/** Every error code. */
export type ErrorCode = keyof typeof ERRORS

/** An error from the table: a stable `code`, an HTTP-like `statusCode`, optional `data`, standard `cause`. */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly data: unknown

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; data?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
    this.statusCode = ERRORS[code].status
    this.data = options.data
  }
}

/** Fills `%s` / `%d` placeholders in order. */
export function formatMessage(template: string, args: readonly unknown[]): string {
  let i = 0
  return template.replace(/%[sd]/g, () => String(args[i++]))
}

/**
 * The arguments a message template takes, in order: anything for each `%s`, a number for each `%d` (as
 * {@link formatMessage} fills them). `TemplateArgs<'no answer to %s %s within %d ms'>` is
 * `readonly [unknown, unknown, number]`.
 */
export type TemplateArgs<T extends string> = T extends `${string}%${infer C}${infer Rest}`
  ? C extends 's'
    ? readonly [unknown, ...TemplateArgs<Rest>]
    : C extends 'd'
      ? readonly [number, ...TemplateArgs<Rest>]
      : TemplateArgs<`${C}${Rest}`>
  : readonly []

/** The arguments of the message template of `code`. */
export type ErrorArgs<C extends ErrorCode> = TemplateArgs<(typeof ERRORS)[C]['message']>

/**
 * What follows the code in {@link createError} (and wrappers such as the web service's `errorReply`): the
 * template's arguments, optional when it has no placeholder, then `Last` (the options). A wrong number of
 * arguments for the code's template fails the typecheck.
 */
export type ErrorCallArgs<C extends ErrorCode, Last> = C extends ErrorCode
  ? ErrorArgs<C> extends readonly []
    ? [args?: ErrorArgs<C>, last?: Last]
    : [args: ErrorArgs<C>, last?: Last]
  : never

/** What {@link createError} takes after the arguments. */
export interface ErrorOptions {
  cause?: unknown
  data?: unknown
}

/**
 * Creates the error of `code` with its message template filled from `args`: one argument per placeholder of the
 * template (checked by the type, {@link ErrorArgs}).
 * @example createError('GW_ERR_BROKER_LISTEN', [host, port, err.message], { cause: err })
 */
export function createError<C extends ErrorCode>(
  code: C,
  ...rest: ErrorCallArgs<C, ErrorOptions>
): GatewayError {
  const [args = [], options = {}] = rest as [(readonly unknown[])?, ErrorOptions?]
  return new GatewayError(code, formatMessage(ERRORS[code].message, args), options)
}
