import type { ErrorCallArgs, ErrorCode } from '../errors.ts'
import { ID_MAX, type Json } from '../protocol/index.ts'
import { errorReply } from '../web/index.ts'
import type { FleetDirectory } from './directory.ts'
import type { FleetReply } from './wire.ts'

/** A remote gateway's answer (or our own error about reaching it): HTTP-like code and body. */
export interface RemoteAnswer {
  code: number
  data: Json
}

/** What the caller side needs. */
export interface RemoteCallerDeps {
  localId: string
  directory: FleetDirectory
  /** Publishes on `/fleet/<localId>/req/<target>`; false when the uplink is down. */
  send: (target: string, payload: string) => boolean
  connected: () => boolean
  linkBudgetMs: number
  maxInFlight: number
}

interface Pending {
  target: string
  resolve: (a: RemoteAnswer) => void
  timer: NodeJS.Timeout
}

function failure<C extends ErrorCode>(
  code: C,
  ...rest: ErrorCallArgs<C, Record<string, unknown>>
): RemoteAnswer {
  const r = errorReply(code, ...rest)
  return { code: r.status, data: r.body as unknown as Json }
}

/**
 * The caller side of remote calls [WP-68]: one pending entry per request id, answered by the reply whose topic
 * names the gateway asked (a reply from anyone else is ignored), by a timeout (the remote bundle's ttl plus the link
 * budget), or at once with 503 when the target is unknown or offline, or the uplink is (or goes) down.
 */
export class RemoteCaller {
  readonly #d: RemoteCallerDeps
  readonly #pending = new Map<number, Pending>()
  #next = 1

  constructor(deps: RemoteCallerDeps) {
    this.#d = deps
    deps.directory.onChange((change, peer) => {
      if (change === 'offline') this.peerOffline(peer.id, peer.lastSeen)
    })
  }

  get inFlight(): number {
    return this.#pending.size
  }

  call(target: string, method: string, resource: string, data: Json): Promise<RemoteAnswer> {
    const peer = this.#d.directory.get(target)
    if (!this.#d.connected()) return Promise.resolve(failure('GW_ERR_FLEET_UPLINK_DOWN', ['reconnecting']))
    if (!peer) return Promise.resolve(failure('GW_ERR_FLEET_UNKNOWN', [target]))
    if (!peer.online) {
      const lastSeen = new Date(peer.lastSeen).toISOString()
      return Promise.resolve(failure('GW_ERR_FLEET_OFFLINE', [target, lastSeen], { lastSeen }))
    }
    if (this.#pending.size >= this.#d.maxInFlight)
      return Promise.resolve(failure('GW_ERR_FLEET_BUSY', [this.#d.maxInFlight]))
    const id = this.#newId()
    const ms = this.#d.directory.ttlSecFor(target, resource) * 1000 + this.#d.linkBudgetMs
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#settle(id, failure('GW_ERR_FLEET_TIMEOUT', [target, ms])), ms)
      this.#pending.set(id, { target, resolve, timer })
      if (!this.#d.send(target, JSON.stringify({ id, method, resource, data })))
        this.#settle(id, failure('GW_ERR_FLEET_UPLINK_DOWN', ['not connected']))
    })
  }

  /** A reply on `/fleet/<from>/res/<localId>`. */
  reply(from: string, r: FleetReply): boolean {
    const p = this.#pending.get(r.id)
    if (!p || p.target !== from) return false // late, or not from the gateway asked: never accepted
    this.#d.directory.seen(from)
    if (r.code < 200 || r.code > 599) {
      this.#settle(r.id, failure('GW_ERR_BUNDLE_BAD_RESPONSE', [from, r.code]))
      return true
    }
    this.#settle(r.id, { code: r.code, data: r.data ?? {} })
    return true
  }

  /** The target went offline: its pending calls end now. */
  peerOffline(target: string, lastSeen: string): void {
    for (const [id, p] of this.#pending)
      if (p.target === target)
        this.#settle(id, failure('GW_ERR_FLEET_OFFLINE', [target, lastSeen], { lastSeen }))
  }

  /** Our uplink went down: every pending call ends now (its answer could only come to a dead subscription). */
  uplinkLost(reason: string): void {
    for (const id of [...this.#pending.keys()])
      this.#settle(id, failure('GW_ERR_FLEET_UPLINK_DOWN', [reason]))
  }

  #settle(id: number, answer: RemoteAnswer): void {
    const p = this.#pending.get(id)
    if (!p) return
    this.#pending.delete(id)
    clearTimeout(p.timer)
    p.resolve(answer)
  }

  #newId(): number {
    for (;;) {
      const id = this.#next
      this.#next = id >= ID_MAX ? 1 : id + 1
      if (!this.#pending.has(id)) return id
    }
  }
}
