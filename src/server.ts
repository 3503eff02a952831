/**
 * Bundlegate server entry: the broker (embedded or external) and the controller, composed from their areas.
 * @module
 */
import { type EmbeddedBroker, startBroker } from './broker/index.ts'
import { type Config, loadConfig } from './config/index.ts'
import { type Controller, type ControllerCoreOptions, startController } from './controller/index.ts'
import { createLogger, type Logger } from './logger.ts'

export type { Config } from './config/index.ts'
export { DEFAULTS, loadConfig } from './config/index.ts'
export type { ComponentInfo, Controller, Outcome } from './controller/index.ts'

/** A running gateway. */
export interface Gateway {
  readonly config: Readonly<Config>
  /** Where bundles connect. */
  readonly brokerUrl: string
  /** The embedded broker, unless an external one is configured. */
  readonly broker: EmbeddedBroker | undefined
  readonly controller: Controller
  readonly logger: Logger
  close(): Promise<void>
}

/** Extra wiring that is not configuration (tests pass a logger sink or a fake clock). */
export interface GatewayDeps {
  logger?: Logger
  controller?: Pick<ControllerCoreOptions, 'clock' | 'reserved'>
}

/**
 * Starts the broker and the controller. With `broker.url` set, the controller connects to that broker and no
 * embedded broker starts; otherwise the embedded aedes broker listens on `broker.host:broker.port`.
 */
export async function startGateway(config?: Readonly<Config>, deps: GatewayDeps = {}): Promise<Gateway> {
  const cfg = config ?? (await loadConfig())
  const logger = deps.logger ?? createLogger({ level: cfg.log.level })
  const coreOptions: ControllerCoreOptions = {
    mode: cfg.controller.mode,
    liveness: cfg.controller.liveness,
    localId: cfg.controller.localId || undefined,
    logger,
    ...deps.controller,
  }
  let broker: EmbeddedBroker | undefined
  let controller: Controller
  let brokerUrl: string
  if (cfg.broker.url) {
    const mqtt: Record<string, string> = {}
    if (cfg.broker.username) mqtt.username = cfg.broker.username
    if (cfg.broker.password) mqtt.password = cfg.broker.password
    controller = await startController(
      { external: { url: cfg.broker.url, mqtt, connectTimeoutMs: cfg.broker.connectTimeoutMs } },
      coreOptions,
    )
    brokerUrl = cfg.broker.url
  } else {
    broker = await startBroker({ host: cfg.broker.host, port: cfg.broker.port, logger })
    controller = await startController({ embedded: broker.aedes }, coreOptions)
    brokerUrl = broker.url
  }
  let closing: Promise<void> | undefined
  return {
    config: cfg,
    brokerUrl,
    broker,
    controller,
    logger,
    close() {
      closing ??= (async () => {
        await controller.close()
        await broker?.close()
      })()
      return closing
    },
  }
}
