import { DropLog } from '../drop-log.ts'
import type { Logger } from '../logger.ts'
import { parsePayload } from '../protocol/index.ts'
import { BucketMap } from '../web/index.ts'
import type { FleetDirectory } from './directory.ts'
import { parsePresence } from './presence.ts'
import type { RemoteCaller } from './remote-caller.ts'
import type { RemoteServer } from './serve-remote.ts'
import { parseFleetTopic } from './topics.ts'
import { parseFleetReply } from './wire.ts'

/** Inventory updates one peer may send: 5 a second on average, 20 at once. */
export const PRESENCE_RATE = { perSecond: 5, burst: 20 }

/**
 * Every publish received on the uplink, sorted by its topic (whose first id level the broker's ACL vouches for):
 * requests to the server, replies to the caller, presences to the directory. Anything else is dropped and counted.
 */
export function fleetInbox(deps: {
  server: RemoteServer
  caller: RemoteCaller
  directory: FleetDirectory
  log: Logger
  jsonDepth: number
}): (topic: string, payload: Buffer) => void {
  const drops = new DropLog(deps.log)
  // a peer announces itself at most twice a second; more is a flood, which the hub's push clients would feel
  const presenceRate = new BucketMap(PRESENCE_RATE, { maxKeys: 4096 })
  return (topic, payload) => {
    const t = parseFleetTopic(topic)
    if (!t) {
      drops.drop('fleet message on an unknown topic dropped', { topic: topic.slice(0, 200) })
    } else if (t.kind === 'req') {
      deps.server.handle(t.from, payload)
    } else if (t.kind === 'res') {
      const r = parseFleetReply(payload, deps.jsonDepth)
      if (!r || !deps.caller.reply(t.from, r))
        drops.drop('fleet reply dropped (late, foreign or malformed)', t)
    } else if (payload.length > 0) {
      // (an empty payload clears a retained presence: nothing to take in)
      const refused = takePresence(deps.directory, presenceRate, t.from, payload)
      if (refused) drops.drop(`fleet presence dropped: ${refused}`, { from: t.from })
    }
  }
}

/** Takes a peer's presence into the directory; why not, when it is refused. */
function takePresence(
  directory: FleetDirectory,
  rate: BucketMap,
  from: string,
  payload: Buffer,
): string | undefined {
  const p = parsePayload(payload, { maxDepth: 8 })
  const parsed = p.ok && !p.oversize ? parsePresence(from, p.message) : undefined
  if (!parsed) return 'malformed'
  const known = directory.get(from)
  // a change of state (a will, a goodbye, a return) always passes; an update of the inventory is rate-limited
  if (known && known.online === (parsed.state === 'online') && !rate.take(from).ok)
    return 'more than 5 a second'
  return directory.update(parsed) ? undefined : 'too many peers'
}
