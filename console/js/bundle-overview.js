// @ts-check
import { call, errorText } from './api.js'
import { fill, h, notice } from './dom.js'

/**
 * @typedef {{ bundle: string, calls: number, perSecond: number, errors: number, errorRate: number,
 *   p50Ms: number | null, p99Ms: number | null }} BundleNumbers
 */

/** The overview is refreshed this often (the gateway keeps 10 s slots). */
const POLL_MS = 5_000

/** @param {number | null} ms */
function latency(ms) {
  if (ms === null) return '—'
  return ms >= 1000 ? `≤ ${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `≤ ${ms} ms`
}

/** @param {BundleNumbers} b */
function row(b) {
  const rate = `${(b.errorRate * 100).toFixed(b.errorRate > 0 && b.errorRate < 0.01 ? 2 : 1)} %`
  return h(
    'tr',
    { 'data-overview-bundle': b.bundle },
    h('td', { 'data-label': 'Bundle' }, h('code', null, b.bundle)),
    h('td', { 'data-label': 'Calls/s' }, b.perSecond.toFixed(2)),
    h('td', { 'data-label': 'Error rate', class: b.errors > 0 ? 'bad-text' : null }, rate),
    h('td', { 'data-label': 'p50' }, latency(b.p50Ms)),
    h('td', { 'data-label': 'p99' }, latency(b.p99Ms)),
    h('td', { 'data-label': 'Calls' }, String(b.calls)),
  )
}

/**
 * The live per-bundle overview of the Bundles page: calls per second, error rate (5xx and gateway errors) and
 * p50/p99 over the last minutes, from the gateway's own counters (`GET /api/v1/metrics/bundles`, issue 17).
 * Returns the element and the function that stops its polling.
 * @returns {{ el: HTMLElement, stop: () => void }}
 */
export function bundleOverview() {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'))
  const minutes = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { 'aria-label': 'Window', onchange: () => void load() },
      h('option', { value: '1' }, 'last minute'),
      h('option', { value: '5', selected: true }, 'last 5 minutes'),
      h('option', { value: '15' }, 'last 15 minutes'),
    )
  )
  let stopped = false
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer

  async function load() {
    clearTimeout(timer)
    const a = await call('GET', `/metrics/bundles?minutes=${minutes.value}`)
    if (stopped) return
    if (a.status === 404) return fill(body, h('p', { class: 'muted' }, 'Metrics are off on this gateway.'))
    if (!a.ok) fill(body, notice('error', errorText(a)))
    else {
      /** @type {BundleNumbers[]} */
      const list = a.body.bundles
      fill(
        body,
        list.length
          ? h(
              'table',
              { class: 'table compact responsive' },
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Bundle', 'Calls/s', 'Error rate', 'p50', 'p99', 'Calls'].map((t) =>
                    h('th', { scope: 'col' }, t),
                  ),
                ),
              ),
              h('tbody', null, list.map(row)),
            )
          : h('p', { class: 'muted' }, 'No bundle call in this window.'),
      )
    }
    timer = setTimeout(() => void load(), POLL_MS)
  }

  const el = h(
    'section',
    { class: 'card overview', 'aria-labelledby': 'overview-title' },
    h('header', { class: 'bundle-head' }, h('h2', { id: 'overview-title' }, 'Traffic'), minutes),
    body,
    h('p', { class: 'muted small' }, 'Percentiles are bucket bounds (at most twice the real value).'),
  )
  void load()
  return {
    el,
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
