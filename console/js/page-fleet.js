// @ts-check
import { call, errorText } from './api.js'
import { fill, h, notice, pageHead, timeEl } from './dom.js'

/**
 * @typedef {{ name: string, role: string, ttlSec: number, online: boolean, resources: string[] }} FleetBundle
 * @typedef {{ id: string, online: boolean, version: string, hub: boolean, startedAt: string, lastSeen: string,
 *   bundles: FleetBundle[] }} Peer
 */

const REFRESH_MS = 5000

/** A resource of gateway `id`, opened in the API explorer through the remote form `/cg-<id>/…` (§7). */
function explorerLink(/** @type {string} */ id, /** @type {string} */ resource) {
  const path = `/${id}${resource.replace(/[+#].*$/, '')}`
  return h('a', { href: `#/explorer?method=GET&path=${encodeURIComponent(path)}` }, h('code', null, resource))
}

/** @param {Peer} g */
function card(g) {
  const models = g.bundles.filter((b) => b.role === 'model')
  return h(
    'article',
    { class: 'card bundle', 'data-gateway': g.id, 'aria-labelledby': `g-${g.id}` },
    h(
      'header',
      { class: 'bundle-head' },
      h('h2', { id: `g-${g.id}` }, g.id),
      h('span', { class: `pill ${g.online ? 'ok' : 'bad'}` }, g.online ? 'Online' : 'Offline'),
      g.hub ? h('span', { class: 'pill neutral' }, 'hub') : null,
    ),
    h(
      'dl',
      { class: 'facts' },
      h('div', null, h('dt', null, 'Version'), h('dd', null, g.version)),
      h('div', null, h('dt', null, 'Started'), h('dd', null, timeEl(g.startedAt))),
      h('div', null, h('dt', null, 'Last seen'), h('dd', null, timeEl(g.lastSeen))),
      h('div', null, h('dt', null, 'Bundles'), h('dd', null, String(g.bundles.length))),
    ),
    models.length && g.online
      ? h(
          'ul',
          { class: 'resources', 'aria-label': `Resources of ${g.id}` },
          models.flatMap((b) => b.resources.map((r) => h('li', null, explorerLink(g.id, r), ` ${b.name}`))),
        )
      : null,
  )
}

/** The Fleet page: the gateways this one sees on its uplink (`GET /api/v1/gateways`), refreshed every 5 s. */
export function renderFleet(/** @type {HTMLElement} */ el) {
  const self = h('p', { class: 'muted' })
  const list = h('div', { class: 'bundles' }, h('p', { class: 'muted' }, 'Loading…'))
  async function load() {
    const a = await call('GET', '/gateways')
    if (a.status === 405 || a.status === 404)
      return fill(list, notice('info', 'This gateway has no fleet uplink (fleet.url, docs/fleet.md).'))
    if (!a.ok) return fill(list, notice('error', errorText(a)))
    const s = a.body.self
    fill(
      self,
      `This gateway: ${s.localId}${s.hub ? ' (hub)' : ''}, uplink ${s.uplink.connected ? 'connected' : 'down'}.`,
    )
    /** @type {Peer[]} */
    const peers = a.body.gateways.filter((/** @type {Peer} */ g) => g.id !== s.localId)
    fill(list, peers.length ? peers.map(card) : h('p', { class: 'muted' }, 'No other gateway seen yet.'))
  }
  fill(
    el,
    pageHead('Fleet', 'The gateways this one reaches over its uplink; a resource opens in the API explorer.'),
    self,
    list,
  )
  void load()
  const timer = setInterval(() => void load(), REFRESH_MS)
  return () => clearInterval(timer)
}
