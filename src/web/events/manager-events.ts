import { DropLog } from '../../drop-log.ts'
import type { Logger } from '../../logger.ts'
import type { BundleManagerApi } from '../../manager/index.ts'
import type { Json } from '../../protocol/index.ts'
import type { EventHub } from './event-hub.ts'

/**
 * Feeds the hub from the bundle manager: every state change of a managed bundle as an event on `/bundles/<name>`,
 * method `put`, code 200, data the ManagerEvent (`name`, `state`, `previousState`, `managed`) with
 * `change: "state"`, beside the controller's registered / deregistered / offline / online events of the same
 * resource (controller-events.ts). Returns the function that stops forwarding.
 */
export function forwardManagerEvents(manager: BundleManagerApi, hub: EventHub, log: Logger): () => void {
  const drops = new DropLog(log)
  return manager.onEvent((event) => {
    try {
      hub.publish({
        resource: `/bundles/${event.name}`,
        method: 'put',
        code: 200,
        data: { change: 'state', ...event } as unknown as Json,
      })
    } catch (err) {
      drops.drop('manager event not pushed', { bundle: event.name, err: (err as Error).message })
    }
  })
}
