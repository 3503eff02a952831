import type { Aedes } from 'aedes'
import type { MqttClient } from 'mqtt'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { aedesOutput, attachToAedes } from './aedes-transport.ts'
import { ControllerCore } from './controller-core.ts'
import type { ControllerCoreOptions } from './core-options.ts'
import type { ExternalBrokerOptions } from './mqtt-transport.ts'

/**
 * External broker: how long after its registration a component's messages wait for its "subscribed" presence
 * message, for bundles that never send it (original Python bundles). docs/protocol.md (Choices) has the measurement.
 */
export const EXTERNAL_SUBSCRIBE_GRACE_MS = 500

/** Where the controller meets its bundles: inside the embedded broker, or as a client of an external one. */
export type ControllerBroker =
  | { embedded: Aedes }
  | { external: ExternalBrokerOptions & { connectTimeoutMs?: number } }

/** A running controller. */
export interface Controller {
  readonly core: ControllerCore
  /** True while the controller can receive messages (always, in embedded mode). */
  readonly connected: boolean
  close(): Promise<void>
}

/**
 * Starts the controller on a broker. The pure logic lives in {@link ControllerCore}; this only wires its input and
 * output to MQTT.
 */
export async function startController(
  broker: ControllerBroker,
  options: ControllerCoreOptions = {},
): Promise<Controller> {
  const logger: Logger = options.logger ?? silentLogger()
  const log = logger.child({ component: 'controller' })
  if ('embedded' in broker) {
    const core = new ControllerCore(aedesOutput(broker.embedded), {
      ...options,
      logger,
      tracksSubscriptions: true,
    })
    const detach = attachToAedes(broker.embedded, core)
    core.announce() // [WP-45] at start with the embedded broker
    log.info({ mode: core.mode, instance: core.instance }, 'controller started on the embedded broker')
    return {
      core,
      connected: true,
      async close() {
        detach()
        core.close()
      },
    }
  }
  // mqtt.js is loaded only for an external broker (about 7 MB and 100 ms less with the embedded one).
  const { connectExternal, DeferredOutput } = await import('./mqtt-transport.ts')
  const output = new DeferredOutput()
  // The broker does not report subscriptions: our SDK says when it has its tunnel (docs/protocol.md, Choices).
  const core = new ControllerCore(output, {
    tracksSubscriptions: true,
    subscribeWaitMs: EXTERNAL_SUBSCRIBE_GRACE_MS,
    ...options,
    logger,
  })
  const { connectTimeoutMs = 10_000, ...external } = broker.external
  let client: MqttClient
  let timer: NodeJS.Timeout | undefined
  try {
    client = await Promise.race([
      connectExternal(external, core, output, log),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        )
      }),
    ])
  } catch (err) {
    output.client?.end(true)
    core.close()
    throw createError('GW_ERR_BROKER_CONNECT', [external.url, (err as Error).message], { cause: err })
  } finally {
    clearTimeout(timer)
  }
  log.info(
    { mode: core.mode, instance: core.instance, url: external.url },
    'controller started on an external broker',
  )
  return {
    core,
    get connected() {
      return client.connected
    },
    async close() {
      core.close()
      await client.endAsync()
    },
  }
}
