/**
 * Every message text the controller puts in the `data` of its own answers (wire-protocol.md §4, §5.7, §8), in one
 * place. The Sanji texts are kept exactly as the original controller sends them, typos included ("beed", "resoures",
 * the space before the full stop): clients match on them, and our own SDK does (`idUsed`, §8.8). The texts marked
 * "Bundlegate" are ours (§8.9 and the choices of docs/protocol.md).
 */
export const WIRE_TEXT = Object.freeze({
  // ---------------------------------------------------------------- routing (§5, §8.12)
  /** 408 at a step's ttl [WP-34]. Sanji, with its space before the full stop. */
  ttlExpired: 'session failed due to ttl expired .',
  /** 400 for a request without resource or method [WP-59]. Sanji. */
  wrongRequest: 'wrong request context',
  /** 403 for an id already in flight [WP-27]; the SDK resends once when it reads it (§8.8). Sanji. */
  idUsed: "'id' was used, please use another 'id'",
  /** 423 for a request meeting a lock [WP-53]. Sanji. */
  resourceLocked: 'resource is locked',
  /** 403 when no model serves the resource [WP-28]. Sanji. */
  requestForbidden: 'request forbidden',
  /** The `log` of that 403. Bundlegate. */
  noSubscribedModel: 'resource has no subscribed model',
  /** 413 for a message over 1 MiB [WP-59]. Bundlegate. */
  payloadTooLarge: 'payload too large',
  /** The `log` of that 413. Bundlegate. */
  payloadTooLargeLog: 'payload exceeds 1048576 bytes',
  /** 503 to in-process callers while the controller stops. Bundlegate. */
  serviceUnavailable: 'service unavailable',
  /** The `log` of that 503. Bundlegate. */
  controllerStopping: 'controller is stopping',
  /** 503 over the in-flight bound (§8.9). Bundlegate. */
  tooManyInFlight: 'too many requests in flight',
  /** 500 for an in-process request that does not serialise. Bundlegate. */
  cannotSerialise: 'request cannot be serialised',

  // ---------------------------------------------------------------- the built-ins (§4, §5.10)
  /** 405 for a verb a built-in does not serve [WP-19]. Sanji. */
  methodNotAllowed: 'method not allowed',
  /** 400 for a registration that breaks a rule [WP-15]. Sanji. */
  wrongRegister: 'wrong register context',
  /** 423 to a POST meeting a lock (sanji-compat). Sanji. */
  registrationLocked: 'the resource is locked',
  /** 403 to a POST for a name taken [WP-18]. Sanji, typo included. */
  alreadyRegistered: 'component had beed already registered',
  /** 403 to a DELETE of a built-in. Bundlegate. */
  builtinNotRemovable: 'built-in component cannot be removed',
  /** 423 to a DELETE meeting a lock (sanji-compat). Sanji, typo included. */
  deregistrationLocked: 'resoures is locked',
  /** 429 over the POST rate (§8.9). Bundlegate. */
  tooManyRegistrations: 'too many registrations',
  /** 503 when the registry is full (§8.9). Bundlegate. */
  registryFull: 'registry full',
  /** The dependency built-in without a query: its `log`. Sanji. */
  noReadCapability: 'not support read capability',
  /** 403 from the dependency built-in for a query other than `?resource=`. Sanji. */
  queryForbidden: 'query forbidden',
  /** The `log` of that 403. Sanji. */
  queryForbiddenLog: "only allow with query string '?resource=[identifier]'",
  /** 404 from the dependency built-in. Sanji. */
  notRegistered: 'resource had not been registered',
})

/** 503 for a request whose model is offline [WP-42]. Bundlegate. */
export function offlineText(bundle: string): string {
  return `bundle '${bundle}' is offline`
}

/** 409 for a pattern another model or the gateway holds [WP-39]. Bundlegate. */
export function conflictText(pattern: string, owner: string): string {
  return `resource '${pattern}' is already provided by '${owner}'`
}
