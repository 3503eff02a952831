import { patternMatches, resourceName } from '../protocol/index.ts'
import type { InventoryBundle, Presence } from './presence.ts'

/** A peer as this gateway sees it (`GET /api/v1/gateways`). */
export interface PeerView {
  id: string
  online: boolean
  version: string
  hub: boolean
  startedAt: string
  /** When this gateway last knew the peer to be online (ISO time). */
  lastSeen: string
  bundles: InventoryBundle[]
}

interface Peer {
  presence: Presence
  lastSeen: number
  /** When its latest presence arrived. */
  receivedAt: number
}

/** Peers remembered at most; a presence of one more id is dropped (counted by the caller). */
export const MAX_PEERS = 4096
/** The ttl assumed for a peer resource no known bundle serves (the original web layer's 60 s). */
export const DEFAULT_REMOTE_TTL_SEC = 60
/** The longest ttl a remote call waits for, whatever a peer announces. */
export const MAX_REMOTE_TTL_SEC = 600

/** The fleet as this gateway sees it: every peer's last presence and when it was last seen online. */
export class FleetDirectory {
  readonly #peers = new Map<string, Peer>()
  readonly #now: () => number
  readonly #listeners = new Set<(change: 'online' | 'offline' | 'updated', peer: PeerView) => void>()

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** Takes a presence in; false when it was dropped (the directory is full). */
  update(p: Presence, knownLastSeen?: number): boolean {
    const old = this.#peers.get(p.id)
    if (!old && this.#peers.size >= MAX_PEERS) return false
    const now = this.#now()
    let lastSeen: number
    if (knownLastSeen !== undefined) lastSeen = knownLastSeen
    else if (p.state === 'online') lastSeen = now
    else if (old?.presence.state === 'online')
      lastSeen = now // we saw it online until this moment
    else lastSeen = Math.max(old?.lastSeen ?? 0, Math.min(p.at, now))
    this.#peers.set(p.id, { presence: p, lastSeen, receivedAt: now })
    const change = old?.presence.state === p.state ? 'updated' : p.state
    const view = this.view(p.id) as PeerView
    for (const l of this.#listeners) l(change, view)
    return true
  }

  /**
   * Peers still online whose presence has not arrived again since `t` (our reconnect) are taken as offline: a broker
   * that lost its retained messages, or a peer that died while we were cut off, sends no will we could see.
   */
  expireBefore(t: number): void {
    for (const [id, peer] of this.#peers) {
      if (peer.receivedAt >= t || peer.presence.state !== 'online') continue
      this.update({ ...peer.presence, id, state: 'offline', at: peer.lastSeen, bundles: [] }, peer.lastSeen)
    }
  }

  /** Something came from `id` (a reply): it is alive now. */
  seen(id: string): void {
    const peer = this.#peers.get(id)
    if (peer?.presence.state === 'online') peer.lastSeen = this.#now()
  }

  get(id: string): { online: boolean; lastSeen: number } | undefined {
    const peer = this.#peers.get(id)
    return peer && { online: peer.presence.state === 'online', lastSeen: peer.lastSeen }
  }

  view(id: string): PeerView | undefined {
    const peer = this.#peers.get(id)
    if (!peer) return undefined
    const p = peer.presence
    return {
      id: p.id,
      online: p.state === 'online',
      version: p.version,
      hub: p.hub,
      startedAt: new Date(p.startedAt).toISOString(),
      lastSeen: new Date(peer.lastSeen).toISOString(),
      bundles: p.bundles,
    }
  }

  list(): PeerView[] {
    return [...this.#peers.keys()].sort().map((id) => this.view(id) as PeerView)
  }

  /**
   * The ttl a remote call waits for (seconds): the largest ttl of the peer's models whose patterns match the
   * resource; no match: the largest of its models, else 60 s; capped at 600 s.
   */
  ttlSecFor(id: string, resource: string): number {
    const models = this.#peers.get(id)?.presence.bundles.filter((b) => b.role === 'model') ?? []
    const name = resourceName(resource)
    const matching = models.filter((b) => b.resources.some((r) => patternMatches(r, name)))
    const pool = matching.length > 0 ? matching : models
    const ttl = pool.length > 0 ? Math.max(...pool.map((b) => b.ttlSec)) : DEFAULT_REMOTE_TTL_SEC
    return Math.min(MAX_REMOTE_TTL_SEC, ttl)
  }

  /** Called on every presence taken in. Returns an unsubscribe function. */
  onChange(listener: (change: 'online' | 'offline' | 'updated', peer: PeerView) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }
}
