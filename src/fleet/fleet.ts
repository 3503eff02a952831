import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/index.ts'
import type { ControllerCore } from '../controller/index.ts'
import { createError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { readPem } from '../read-pem.ts'
import type { EventHub } from '../web/index.ts'
import { FleetDirectory, MAX_REMOTE_TTL_SEC } from './directory.ts'
import { type FleetSelf, gatewaysRoutes } from './gateways-route.ts'
import { fleetInbox } from './inbox.ts'
import { inventoryOf, type Presence } from './presence.ts'
import { REMOTE_PATTERN, remoteBuiltin } from './remote-builtin.ts'
import { RemoteCaller } from './remote-caller.ts'
import { RemoteServer } from './serve-remote.ts'
import { presenceTopic, replyTopic, requestTopic } from './topics.ts'
import { parseTrust } from './trust.ts'
import { Uplink } from './uplink.ts'

/** A gateway's part in the fleet (docs/fleet.md). */
export interface Fleet {
  readonly localId: string
  readonly directory: FleetDirectory
  readonly connected: boolean
  /** `GET /api/v1/gateways` and the `/gateways/<id>` push events, in the web service. */
  install(app: FastifyInstance, hub: EventHub): void
  close(): Promise<void>
}

/** What the fleet is built from. */
export interface FleetDeps {
  config: Config['fleet']
  core: ControllerCore
  logger: Logger
  version: string
  jsonDepth: number
}

/** Inventory changes are announced at most this often. */
const ANNOUNCE_DELAY_MS = 500

/**
 * Starts the uplink (without waiting for it: local traffic never depends on it), registers the `/remote/+`
 * built-in with the controller, serves requests for `fleet.localId` and keeps the fleet directory.
 */
export function startFleet(deps: FleetDeps): Fleet {
  const cfg = deps.config
  if (!cfg.localId) throw createError('GW_ERR_CONFIG_INVALID', ['fleet.url needs fleet.localId'])
  const localId = cfg.localId
  const log = deps.logger.child({ component: 'fleet', localId })
  const directory = new FleetDirectory()
  const presence = presenceOf(deps, Date.now())
  let onMessage: (topic: string, payload: Buffer) => void = () => undefined
  let staleTimer: NodeJS.Timeout | undefined
  const uplink: Uplink = new Uplink({
    url: cfg.url,
    localId,
    mqtt: mqttOptions(cfg),
    log,
    will: () => presence('offline'),
    message: (topic, payload) => onMessage(topic, payload),
    up: (subscribedAt) => {
      uplink.publish(presenceTopic(localId), presence('online'), true)
      clearTimeout(staleTimer)
      staleTimer = setTimeout(() => directory.expireBefore(subscribedAt), cfg.reannounceSec * 1000)
      staleTimer.unref()
    },
    down: (reason) => caller.uplinkLost(reason),
  })
  const caller = new RemoteCaller({
    localId,
    directory,
    send: (target, payload) => uplink.publish(requestTopic(localId, target), payload),
    connected: () => uplink.connected,
    linkBudgetMs: cfg.linkBudgetMs,
    maxInFlight: cfg.maxInFlight,
  })
  const server = new RemoteServer({
    localId,
    core: deps.core,
    trust: parseTrust(cfg.trust),
    reply: (to, payload) => uplink.publish(replyTopic(localId, to), payload),
    log,
    maxInFlight: cfg.maxInFlight,
    jsonDepth: deps.jsonDepth,
  })
  onMessage = fleetInbox({ server, caller, directory, log, jsonDepth: deps.jsonDepth })
  directory.onChange((change, peer) => {
    if (change !== 'updated') log.info({ peer: peer.id, change }, 'fleet peer changed')
  })
  deps.core.addBuiltin(
    'fleet',
    [REMOTE_PATTERN],
    remoteBuiltin((target, method, resource, data) => caller.call(target, method, resource, data)),
    MAX_REMOTE_TTL_SEC + Math.ceil(cfg.linkBudgetMs / 1000) + 5,
  )
  const offAnnounce = announceChanges(deps.core, () => {
    uplink.publish(presenceTopic(localId), presence('online'), true)
  })
  const offRoutes: Array<() => void> = []
  const self = (): FleetSelf => ({
    localId,
    hub: cfg.hub,
    uplink: { url: redactUrl(cfg.url), connected: uplink.connected },
  })
  return {
    localId,
    directory,
    get connected() {
      return uplink.connected
    },
    install(app, hub) {
      offRoutes.push(gatewaysRoutes(app, { directory, self, hub }))
    },
    async close() {
      offAnnounce()
      for (const off of offRoutes) off()
      clearTimeout(staleTimer)
      caller.uplinkLost('the gateway is stopping')
      await uplink.close(presence('offline'))
    },
  }
}

/** Our presence [WP-66]: online with the inventory, or offline (the will, the goodbye) without. */
function presenceOf(deps: FleetDeps, startedAt: number): (state: 'online' | 'offline') => string {
  return (state) => {
    const p: Presence = {
      id: deps.config.localId,
      state,
      version: deps.version,
      hub: deps.config.hub,
      startedAt,
      at: Date.now(),
      bundles: state === 'online' ? inventoryOf(deps.core.components()) : [],
    }
    return JSON.stringify(p)
  }
}

/** Calls `announce` after registry changes, at most once per {@link ANNOUNCE_DELAY_MS}. Returns the stop. */
function announceChanges(core: ControllerCore, announce: () => void): () => void {
  let timer: NodeJS.Timeout | undefined
  const off = core.onChange(() => {
    timer ??= setTimeout(() => {
      timer = undefined
      announce()
    }, ANNOUNCE_DELAY_MS)
  })
  return () => {
    off()
    clearTimeout(timer)
  }
}

function mqttOptions(cfg: Config['fleet']): Record<string, string | Buffer> {
  const o: Record<string, string | Buffer> = {}
  if (cfg.username) o.username = cfg.username
  if (cfg.password) o.password = cfg.password
  if (cfg.caFile) o.ca = readPem(cfg.caFile, 'fleet.caFile')
  if (cfg.certFile) o.cert = readPem(cfg.certFile, 'fleet.certFile')
  if (cfg.keyFile) o.key = readPem(cfg.keyFile, 'fleet.keyFile')
  return o
}

/** The URL without user information (never log or show a password). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    return u.toString()
  } catch {
    return ''
  }
}
