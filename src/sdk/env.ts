import { readPem } from '../read-pem.ts'
/**
 * The broker address of a bundle: `BROKER_URL`, else the original stack's `BROKER_PORT_1883_TCP_ADDR` and
 * `BROKER_PORT_1883_TCP_PORT`, else `mqtt://127.0.0.1:1883`.
 */
export function brokerUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BROKER_URL) return env.BROKER_URL
  const addr = env.BROKER_PORT_1883_TCP_ADDR
  if (addr) {
    const host = addr.includes(':') && !addr.startsWith('[') ? `[${addr}]` : addr
    return `mqtt://${host}:${env.BROKER_PORT_1883_TCP_PORT || '1883'}`
  }
  return 'mqtt://127.0.0.1:1883'
}

/** Stack traces in 500 answers: `BUNDLE_DEBUG=1`, or `SANJI_ENV=debug` as in the Python SDK. */
export function debugFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BUNDLE_DEBUG === '1' || env.BUNDLE_DEBUG === 'true' || env.SANJI_ENV === 'debug'
}

/**
 * `BUNDLE_PUBLISH_QOS` (0, 1 or 2); 1 by default (wire-protocol.md §2.2, version 1.1: nothing in the protocol needs
 * QoS 2, and the id rule makes QoS 1 duplicates harmless). Anything else is the default.
 */
export function publishQosFromEnv(env: NodeJS.ProcessEnv = process.env): 0 | 1 | 2 {
  const v = env.BUNDLE_PUBLISH_QOS
  return v === '0' ? 0 : v === '2' ? 2 : 1
}

/** `BUNDLE_JSON_DEPTH` (2–512): how deep incoming messages may nest (§8.9); the protocol's 64 otherwise. */
export function jsonDepthFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = Number(env.BUNDLE_JSON_DEPTH)
  return Number.isInteger(v) && v >= 2 && v <= 512 ? v : undefined
}

/**
 * MQTT credentials from `BROKER_USERNAME` and `BROKER_PASSWORD` (issued by `bundlegate broker-credentials create`
 * when the embedded broker requires authentication, docs/security.md); empty when either is unset. A
 * `user:password@` in `BROKER_URL` keeps working; these variables win over it.
 */
export function brokerCredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  username?: string
  password?: string
} {
  const username = env.BROKER_USERNAME
  const password = env.BROKER_PASSWORD
  return username && password !== undefined ? { username, password } : {}
}

/**
 * TLS material for `mqtts://` brokers from `BROKER_CA_FILE`, `BROKER_CERT_FILE`, `BROKER_KEY_FILE` (PEM files, read
 * once at start). A file that cannot be read is an error naming the variable, not a silent plain connection.
 */
export function brokerTlsFromEnv(env: NodeJS.ProcessEnv = process.env): {
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
} {
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}
  for (const [name, key] of [
    ['BROKER_CA_FILE', 'ca'],
    ['BROKER_CERT_FILE', 'cert'],
    ['BROKER_KEY_FILE', 'key'],
  ] as const) {
    const path = env[name]
    if (path) tls[key] = readPem(path, name)
  }
  return tls
}
