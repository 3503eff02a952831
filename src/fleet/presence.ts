import type { ComponentInfo } from '../controller/index.ts'
import { type Envelope, isObject, type Json } from '../protocol/index.ts'
import { isGatewayId } from './gateway-id.ts'

/** One bundle (component) of a gateway's inventory. */
export interface InventoryBundle {
  name: string
  role: string
  ttlSec: number
  online: boolean
  resources: string[]
}

/**
 * A gateway's retained announcement on `/fleet/<id>/presence` [WP-66]. `at` is when it was published (the will's
 * copy: when the connection it guards was opened).
 */
export interface Presence {
  id: string
  state: 'online' | 'offline'
  version: string
  hub: boolean
  startedAt: number
  at: number
  bundles: InventoryBundle[]
}

/** Bounds on what a peer's presence may hold (hostile input: counted once, where it enters). */
const MAX_BUNDLES = 1024
const MAX_RESOURCES = 1024
const MAX_TEXT = 1023

/** The inventory part of our presence: every component but the built-ins. */
export function inventoryOf(components: readonly ComponentInfo[]): InventoryBundle[] {
  return components
    .filter((c) => !c.builtin)
    .slice(0, MAX_BUNDLES)
    .map((c) => ({
      name: c.name,
      role: c.role,
      ttlSec: c.ttlSec,
      online: c.online,
      resources: c.patterns.slice(0, MAX_RESOURCES),
    }))
}

function text(v: Json | undefined): v is string {
  return typeof v === 'string' && v.length <= MAX_TEXT
}

function time(v: Json | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined
}

function bundleOf(v: Json): InventoryBundle | undefined {
  if (!isObject(v) || !text(v.name) || !text(v.role) || typeof v.online !== 'boolean') return undefined
  const ttl = time(v.ttlSec)
  if (ttl === undefined || !Array.isArray(v.resources) || v.resources.length > MAX_RESOURCES) return undefined
  const resources = v.resources.filter(text)
  if (resources.length !== v.resources.length) return undefined
  return { name: v.name, role: v.role, ttlSec: ttl, online: v.online, resources }
}

/** A peer's presence checked field by field; undefined when anything is off (the caller counts the drop). */
export function parsePresence(from: string, message: Envelope): Presence | undefined {
  const { id, state, version, hub, bundles } = message
  if (id !== from || !isGatewayId(id)) return undefined // the topic, which the ACL vouches for, names it
  if (state !== 'online' && state !== 'offline') return undefined
  const startedAt = time(message.startedAt)
  const at = time(message.at)
  if (!text(version) || typeof hub !== 'boolean' || startedAt === undefined || at === undefined)
    return undefined
  if (!Array.isArray(bundles) || bundles.length > MAX_BUNDLES) return undefined
  const parsed: InventoryBundle[] = []
  for (const b of bundles) {
    const ok = bundleOf(b)
    if (!ok) return undefined
    parsed.push(ok)
  }
  return { id, state, version, hub, startedAt, at, bundles: parsed }
}
