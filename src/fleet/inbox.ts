import { DropLog } from '../drop-log.ts'
import type { Logger } from '../logger.ts'
import { parsePayload } from '../protocol/index.ts'
import type { FleetDirectory } from './directory.ts'
import { parsePresence } from './presence.ts'
import type { RemoteCaller } from './remote-caller.ts'
import type { RemoteServer } from './serve-remote.ts'
import { parseFleetTopic } from './topics.ts'
import { parseFleetReply } from './wire.ts'

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
      const p = parsePayload(payload, { maxDepth: 8 })
      const parsed = p.ok && !p.oversize ? parsePresence(t.from, p.message) : undefined
      if (!parsed || !deps.directory.update(parsed)) drops.drop('fleet presence dropped', { from: t.from })
    }
  }
}
