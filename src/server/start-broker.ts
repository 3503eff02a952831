/**
 * The gateway's broker: the embedded one (with the bundles' MQTT credentials when it requires authentication), or
 * the external `broker.url` the controller connects to with the configured user and TLS files.
 * @module
 */
import { resolve } from 'node:path'
import {
  BrokerCredentialStore,
  brokerAuthRequired,
  type EmbeddedBroker,
  isLoopbackHost,
  startBroker,
} from '../broker/index.ts'
import type { Config } from '../config/index.ts'
import type { ControllerBroker } from '../controller/index.ts'
import type { Logger } from '../logger.ts'
import { readPem } from '../read-pem.ts'
import type { Closers } from './closers.ts'

/** The broker side of a gateway. */
export interface GatewayBroker {
  /** Where bundles connect. */
  brokerUrl: string
  /** How the controller reaches the broker. */
  transport: ControllerBroker
  /** The embedded broker; `undefined` with an external one. */
  broker: EmbeddedBroker | undefined
  /** The MQTT credentials of bundles, when the embedded broker requires authentication (docs/security.md). */
  brokerCredentials: BrokerCredentialStore | undefined
}

/** Starts the embedded broker, or prepares the connection to `broker.url` (the controller step connects). */
export async function startGatewayBroker(
  cfg: Readonly<Config>,
  logger: Logger,
  log: Logger,
  closers: Closers,
): Promise<GatewayBroker> {
  return cfg.broker.url ? externalBroker(cfg, cfg.broker.url) : embeddedBroker(cfg, logger, log, closers)
}

/** `broker.url` with `broker.username`/`password` and the TLS files read once. */
function externalBroker(cfg: Readonly<Config>, url: string): GatewayBroker {
  const mqtt: Record<string, string | Buffer> = {}
  if (cfg.broker.username) mqtt.username = cfg.broker.username
  if (cfg.broker.password) mqtt.password = cfg.broker.password
  if (cfg.broker.caFile) mqtt.ca = readPem(cfg.broker.caFile, 'broker.caFile')
  if (cfg.broker.certFile) mqtt.cert = readPem(cfg.broker.certFile, 'broker.certFile')
  if (cfg.broker.keyFile) mqtt.key = readPem(cfg.broker.keyFile, 'broker.keyFile')
  return {
    brokerUrl: url,
    transport: { external: { url, mqtt, connectTimeoutMs: cfg.broker.connectTimeoutMs } },
    broker: undefined,
    brokerCredentials: undefined,
  }
}

async function embeddedBroker(
  cfg: Readonly<Config>,
  logger: Logger,
  log: Logger,
  closers: Closers,
): Promise<GatewayBroker> {
  let brokerCredentials: BrokerCredentialStore | undefined
  if (brokerAuthRequired(cfg.broker)) {
    const store = BrokerCredentialStore.open(resolve(cfg.data.dir), { logger })
    brokerCredentials = store
    closers.add(() => store.close())
  } else if (!isLoopbackHost(cfg.broker.host)) {
    log.warn(
      { host: cfg.broker.host },
      'MQTT authentication is OFF on a broker reachable from the network: any client can read and forge messages',
    )
  }
  const credentials = brokerCredentials
  const broker = await startBroker({
    host: cfg.broker.host,
    port: cfg.broker.port,
    sessionExpiryMs: cfg.broker.sessionExpirySec * 1000,
    logger,
    localId: cfg.controller.localId || undefined,
    ...(credentials ? { auth: { credentials, localId: cfg.controller.localId || undefined } } : {}),
  })
  closers.add(() => broker.close())
  return { brokerUrl: broker.url, transport: { embedded: broker.aedes }, broker, brokerCredentials }
}
