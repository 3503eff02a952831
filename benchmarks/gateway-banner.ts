/** Lines of the start-up banner of `bundlegate start`, for {@link LineWatcher.waitFor}; group 1 is the address. */
export const GATEWAY_BANNER = {
  /** `  web service http://127.0.0.1:<port>/api/v1` → `http://127.0.0.1:<port>` */
  webService: /^\s+web service (http:\/\/\S+)\/api\/v1\s*$/,
  /** `  broker      mqtt://127.0.0.1:<port>` */
  broker: /^\s+broker\s+(mqtt:\/\/\S+)/,
} as const
