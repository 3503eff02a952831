/**
 * The options of a bundle (`new Bundle(options)`).
 * @module
 */
import type { IClientOptions } from 'mqtt'
import type { Logger } from '../logger.ts'

/** Options of a bundle. */
export interface BundleOptions {
  /** The bundle directory: `bundle.json` and `data/` live here. `BUNDLE_DIR` overrides it. @default process.cwd() */
  dir?: string
  /** The manifest as an object, instead of reading `<dir>/bundle.json`. */
  manifest?: unknown
  /** @default BROKER_URL, else BROKER_PORT_1883_TCP_ADDR/PORT, else 'mqtt://127.0.0.1:1883' */
  brokerUrl?: string
  /** Extra mqtt.js options: username, password (default BROKER_USERNAME/BROKER_PASSWORD), TLS (ca, cert, key, …). */
  mqtt?: IClientOptions
  /** @default a pino logger at LOG_LEVEL (info) */
  logger?: Logger
  /** Put stack traces in 500 answers. @default BUNDLE_DEBUG=1 or SANJI_ENV=debug */
  debug?: boolean
  /** Stop cleanly on SIGINT and SIGTERM. @default true */
  signals?: boolean
  /** MQTT client id. @default 'bg-' + 16 random hex characters */
  clientId?: string
  /**
   * QoS of everything the bundle publishes (answers, requests, events). 2 is what the wire protocol prescribes
   * (§2.2); 1 costs two MQTT packets per message instead of four (see docs/performance.md); duplicates are harmless
   * since answers are matched by id once. @default BUNDLE_PUBLISH_QOS, else 2
   */
  publishQos?: 0 | 1 | 2
}
