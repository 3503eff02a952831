// @ts-check
import { call, errorText } from './api.js'
import { bundleOverview } from './bundle-overview.js'
import { fill, h, notice, pageHead, timeEl } from './dom.js'
import { installButton, managedActions, managedFacts, statePill, tickUptimes } from './managed-bundle.js'

/**
 * @typedef {{ name: string, role: string, description: string, resources: { resource: string, methods: string[] | null }[],
 *   ttl: number, online: boolean, registeredAt: string | null, hook: string[],
 *   stats?: { requests: number, errors: number, lastError: { at: string, code: number, message: string } | null },
 *   managed?: import('./managed-bundle.js').ManagedInfo }} Bundle
 * @typedef {{ say: (n: Node) => void, reload: () => void }} CardCtx
 */

/** Without the push channel the list is refreshed this often; with it, on every bundle event. */
const SLOW_REFRESH_MS = 30_000
/** Memory and restarts of managed bundles change without an event: their list is refreshed this often. */
const MANAGED_REFRESH_MS = 10_000

/** @param {Bundle} b @param {CardCtx} ctx */
function card(b, ctx) {
  const st = b.stats
  const m = b.managed
  return h(
    'article',
    { class: 'card bundle', 'data-bundle': b.name, 'aria-labelledby': `b-${b.name}` },
    h(
      'header',
      { class: 'bundle-head' },
      h('h2', { id: `b-${b.name}` }, b.name),
      m ? statePill(m) : null,
      h('span', { class: `pill ${b.online ? 'ok' : 'bad'}` }, b.online ? 'Online' : 'Offline'),
      b.role ? h('span', { class: 'pill neutral' }, b.role) : null,
    ),
    b.description ? h('p', { class: 'muted' }, b.description) : null,
    m?.message ? h('p', { class: 'managed-message' }, m.message) : null,
    m ? managedFacts(m) : null,
    m ? managedActions(m, ctx.say, ctx.reload) : null,
    h(
      'dl',
      { class: 'facts' },
      h('div', null, h('dt', null, 'Registered'), h('dd', null, timeEl(b.registeredAt))),
      b.registeredAt ? h('div', null, h('dt', null, 'TTL'), h('dd', null, `${b.ttl} s`)) : null,
      h('div', null, h('dt', null, 'Requests'), h('dd', null, st ? String(st.requests) : '—')),
      h(
        'div',
        null,
        h('dt', null, 'Errors'),
        h('dd', { class: st && st.errors > 0 ? 'bad-text' : null }, st ? String(st.errors) : '—'),
      ),
      b.hook.length ? h('div', null, h('dt', null, 'Hooks'), h('dd', null, b.hook.join(', '))) : null,
    ),
    st?.lastError
      ? h(
          'p',
          { class: 'last-error' },
          h('strong', null, `Last error ${st.lastError.code}: `),
          st.lastError.message,
          ' · ',
          timeEl(st.lastError.at),
        )
      : null,
    b.resources.length
      ? h(
          'ul',
          { class: 'resources', 'aria-label': `Resources of ${b.name}` },
          b.resources.map((r) =>
            h(
              'li',
              null,
              h('code', null, r.resource),
              h(
                'span',
                { class: 'methods' },
                (r.methods ?? ['any method']).map((m) =>
                  h('span', { class: `method m-${m.toLowerCase().replace(/\s.*/, '')}` }, m.toUpperCase()),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, b.registeredAt ? 'No resources (a view).' : 'Not registered.'),
  )
}

/** The Bundles page, refreshed live from `GET /api/v1/events` (or slowly without it). @param {HTMLElement} el */
export function renderBundles(el) {
  const live = h('span', { class: 'live', role: 'status' }, 'Connecting…')
  const list = h(
    'div',
    { class: 'bundles', 'aria-live': 'polite', 'aria-busy': 'true' },
    h('p', { class: 'muted' }, 'Loading…'),
  )
  let stopped = false
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let debounce
  /** @type {EventSource | undefined} */
  let source
  const overview = bundleOverview()
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' })
  /** @type {CardCtx} */
  const ctx = { say: (n) => fill(messages, n), reload: () => void load('action') }
  let managedShown = false
  let lastLoad = 0
  const ticker = setInterval(() => {
    tickUptimes(list)
    if (managedShown && Date.now() - lastLoad >= MANAGED_REFRESH_MS) void load('poll')
  }, 1000)

  /** @param {'first' | 'open' | 'push' | 'poll' | 'action' | 'refresh'} why what made this load (data-loaded-by, for tests) */
  async function load(why) {
    lastLoad = Date.now()
    const a = await call('GET', '/bundles')
    if (stopped) return
    list.setAttribute('data-loaded-by', why)
    list.setAttribute('aria-busy', 'false')
    if (!a.ok) return fill(list, notice('error', errorText(a)))
    /** @type {Bundle[]} */
    const bundles = a.body
    bundles.sort((x, y) => x.name.localeCompare(y.name))
    managedShown = bundles.some((b) => b.managed)
    fill(
      list,
      bundles.length
        ? bundles.map((b) => card(b, ctx))
        : h('p', { class: 'muted' }, 'No bundle is registered or installed.'),
    )
  }

  function slow() {
    clearTimeout(timer)
    timer = setTimeout(async () => {
      await load('poll')
      if (!stopped) slow()
    }, SLOW_REFRESH_MS)
  }

  function connect() {
    // [HA-3] the session cookie goes along with EventSource (same origin), no token in the URL
    source = new EventSource('/api/v1/events?resource=/bundles/%23')
    let opened = false
    source.addEventListener('open', () => {
      opened = true
      fill(live, h('span', { class: 'dot ok', 'aria-hidden': 'true' }), 'Live')
      clearTimeout(timer)
      void load('open')
    })
    source.addEventListener('message', () => {
      clearTimeout(debounce)
      debounce = setTimeout(() => void load('push'), 300)
    })
    source.addEventListener('error', () => {
      if (opened && source?.readyState !== EventSource.CLOSED) {
        fill(live, h('span', { class: 'dot warn', 'aria-hidden': 'true' }), 'Reconnecting…')
        return
      }
      // no push channel on this gateway (or it refused us): refresh slowly instead
      source?.close()
      fill(
        live,
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        `Refreshing every ${SLOW_REFRESH_MS / 1000} s`,
      )
      slow()
    })
  }

  fill(
    el,
    pageHead(
      'Bundles',
      'Registered components, their resources and how their requests went; installed bundles and their state.',
      h(
        'div',
        { class: 'head-tools' },
        live,
        installButton(ctx.say, ctx.reload),
        h('button', { type: 'button', class: 'ghost small', onclick: () => void load('refresh') }, 'Refresh'),
      ),
    ),
    messages,
    overview.el,
    list,
  )
  void load('first')
  connect()
  return () => {
    stopped = true
    clearInterval(ticker)
    clearTimeout(timer)
    clearTimeout(debounce)
    source?.close()
    overview.stop()
  }
}
