import type { ComponentChange, ComponentInfo, ControllerCore } from '../../controller/index.ts'
import { DropLog } from '../../drop-log.ts'
import type { Logger } from '../../logger.ts'
import { type Envelope, type Json, resourceName } from '../../protocol/index.ts'
import { GATEWAY_PREFIXES, isUnder } from '../reserved.ts'
import { bundleView } from '../routes/bundles.ts'
import type { EventHub } from './event-hub.ts'

/**
 * The `change` of a `/bundles/<name>` push event: the controller's {@link ComponentChange}, or `online` (a bundle
 * seen offline registered again).
 */
export type BundleChange = ComponentChange | 'online'

/** Names remembered as offline until they register again (bounded: the oldest are forgotten first). */
const MAX_OFFLINE_NAMES = 1024

/**
 * Feeds the hub from the controller: every bundle EVENT (wire-protocol.md §5.11, whether or not a view matches) and
 * the gateway's own bundle events on `/bundles/<name>`:
 *
 * | change       | method   | when                                                                        |
 * | ------------ | -------- | --------------------------------------------------------------------------- |
 * | registered   | `post`   | a successful registration                                                   |
 * | deregistered | `delete` | a deregistration (a bundle re-registering deregisters first)                |
 * | offline      | `put`    | its MQTT connection went away (§8.3)                                        |
 * | online       | `put`    | a bundle seen offline registered again (after its `registered` event)       |
 *
 * `data` is the bundle as `GET /api/v1/bundles` lists it, plus `change`. A bundle's own event on a gateway
 * resource (`/bundles/…`, `/tokens/…`, [HA-11]) is not forwarded to push clients: those are the gateway's to say.
 * Returns the function that stops forwarding.
 */
export function forwardControllerEvents(core: ControllerCore, hub: EventHub, log: Logger): () => void {
  const offline = new Set<string>()
  const drops = new DropLog(log)
  const offEvent = core.onEvent((msg: Envelope) => {
    const resource = msg.resource as string
    const name = resourceName(resource)
    if (GATEWAY_PREFIXES.some((p) => isUnder(name, p))) {
      log.debug({ resource }, 'bundle event on a gateway resource not pushed')
      return
    }
    try {
      hub.publish({
        resource,
        method: msg.method as string,
        code: typeof msg.code === 'number' ? msg.code : null,
        data: msg.data === undefined ? null : msg.data,
      })
    } catch (err) {
      // MQTT input is bounded at intake (§8.9); an in-process event that does not serialise is dropped, not thrown
      drops.drop('event not pushed: it cannot be serialised', { resource, err: (err as Error).message })
    }
  })
  const bundleEvent = (change: BundleChange, method: string, c: ComponentInfo) => {
    hub.publish({
      resource: `/bundles/${c.name}`,
      method,
      code: 200,
      data: { change, ...bundleView(c) } as unknown as Json,
    })
  }
  const offChange = core.onChange((event, c) => {
    if (c.builtin) return
    if (event === 'registered') {
      bundleEvent('registered', 'post', c)
      if (offline.delete(c.name)) bundleEvent('online', 'put', c)
    } else if (event === 'deregistered') {
      bundleEvent('deregistered', 'delete', c)
    } else {
      bundleEvent('offline', 'put', c)
      offline.delete(c.name)
      offline.add(c.name)
      if (offline.size > MAX_OFFLINE_NAMES) offline.delete(offline.values().next().value as string)
    }
  })
  return () => {
    offEvent()
    offChange()
  }
}
