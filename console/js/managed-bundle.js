// @ts-check
/**
 * The bundle manager's part of the Bundles page (docs/manager.md): the state, restarts, last exit, uptime and memory
 * of a managed bundle, its control buttons, the Install (upload a .tar.gz) button. Every call goes through api.js
 * (session cookie and CSRF header); the page reloads on the push channel's `/bundles/<name>` events.
 */
import { call, errorText } from './api.js'
import { confirmDialog, h, notice, openDialog, timeEl } from './dom.js'

/**
 * @typedef {{ code: number | null, signal: string | null, at: string, reason: string }} LastExit
 * @typedef {{ name: string, version: string, previousVersion: string | null, state: string, enabled: boolean,
 *   priority: number, dependencies: string[], restarts: number, lastExit: LastExit | null, startedAt: string | null,
 *   uptimeSec: number, pid: number | null, rssBytes: number | null, memoryLimitBytes: number | null,
 *   nextRetryAt: string | null, message: string, droppedLogLines: number }} ManagedInfo
 * @typedef {(text: Node) => void} Say
 */

const STATE_CLASS = /** @type {Record<string, string>} */ ({
  running: 'ok',
  starting: 'warn',
  stopping: 'warn',
  backoff: 'warn',
  broken: 'bad',
  stopped: 'neutral',
  installed: 'neutral',
})

/** "2 h 5 min", "42 s": @param {number} sec */
export function duration(sec) {
  const s = Math.max(0, Math.floor(sec))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`
}

/** @param {number | null} bytes */
function mib(bytes) {
  return bytes === null ? '—' : `${(bytes / 1048576).toFixed(1)} MiB`
}

/** @param {LastExit | null} e */
function lastExit(e) {
  if (!e) return h('span', { class: 'muted' }, '—')
  const how = e.signal ? e.signal : `code ${e.code}`
  return h('span', null, `${how} (${e.reason}) · `, timeEl(e.at))
}

/** The state pill of a managed bundle. @param {ManagedInfo} m */
export function statePill(m) {
  return h(
    'span',
    { class: `pill ${STATE_CLASS[m.state] ?? 'neutral'}`, 'data-state': m.state, title: m.message || null },
    m.state,
  )
}

/** The manager's facts of a bundle. @param {ManagedInfo} m */
export function managedFacts(m) {
  const running = m.state === 'running'
  return h(
    'dl',
    { class: 'facts managed-facts', 'aria-label': `Manager status of ${m.name}` },
    h('div', null, h('dt', null, 'Version'), h('dd', null, m.version)),
    h(
      'div',
      null,
      h('dt', null, 'Start at boot'),
      h('dd', { 'data-enabled': String(m.enabled) }, m.enabled ? 'Enabled' : 'Disabled'),
    ),
    h('div', null, h('dt', null, 'Restarts'), h('dd', { 'data-restarts': '' }, String(m.restarts))),
    h('div', null, h('dt', null, 'Last exit'), h('dd', null, lastExit(m.lastExit))),
    h(
      'div',
      null,
      h('dt', null, 'Uptime'),
      h(
        'dd',
        running ? { 'data-running-since': String(Date.now() - m.uptimeSec * 1000) } : null,
        running ? duration(m.uptimeSec) : '—',
      ),
    ),
    h(
      'div',
      null,
      h('dt', null, 'Memory'),
      h(
        'dd',
        null,
        m.memoryLimitBytes ? `${mib(m.rssBytes)} of ${mib(m.memoryLimitBytes)}` : mib(m.rssBytes),
      ),
    ),
    m.pid !== null ? h('div', null, h('dt', null, 'PID'), h('dd', null, String(m.pid))) : null,
    m.nextRetryAt ? h('div', null, h('dt', null, 'Next try'), h('dd', null, timeEl(m.nextRetryAt))) : null,
    m.droppedLogLines > 0
      ? h('div', null, h('dt', null, 'Dropped log lines'), h('dd', null, String(m.droppedLogLines)))
      : null,
  )
}

/** Refreshes every running bundle's uptime on the page (called once a second). @param {ParentNode} root */
export function tickUptimes(root) {
  for (const dd of root.querySelectorAll('[data-running-since]')) {
    dd.textContent = duration((Date.now() - Number(dd.getAttribute('data-running-since'))) / 1000)
  }
}

/**
 * The control buttons of a managed bundle; each calls the manager, says what went wrong through `say`, then
 * `done()` (the page reloads).
 * @param {ManagedInfo} m @param {Say} say @param {() => void} done
 */
export function managedActions(m, say, done) {
  const path = `/bundles/${encodeURIComponent(m.name)}`
  const serving = m.state === 'running' || m.state === 'starting'
  /** @type {HTMLButtonElement[]} */
  const buttons = []
  /** @param {string} label @param {string} cls @param {() => Promise<import('./api.js').Answer | null>} act @param {boolean} [disabled] */
  const button = (label, cls, act, disabled = false) => {
    const b = h(
      'button',
      {
        type: 'button',
        class: `small ${cls}`,
        disabled,
        'data-action': label.toLowerCase(),
        'aria-label': `${label} ${m.name}`,
        onclick: async () => {
          for (const x of buttons) x.disabled = true
          const a = await act()
          if (a && !a.ok) say(notice('error', `${label} ${m.name}: ${errorText(a)}`))
          done()
        },
      },
      label,
    )
    buttons.push(b)
    return b
  }
  const post = (/** @type {string} */ verb) => () => call('POST', `${path}/${verb}`)
  return h(
    'div',
    { class: 'managed-actions', role: 'group', 'aria-label': `Control ${m.name}` },
    button('Start', 'primary', post('start'), serving),
    button('Stop', 'ghost', post('stop'), m.state === 'stopped' || m.state === 'installed'),
    button('Restart', 'ghost', post('restart')),
    m.enabled ? button('Disable', 'ghost', post('disable')) : button('Enable', 'ghost', post('enable')),
    m.previousVersion
      ? button(`Rollback`, 'ghost', async () => {
          const ok = await confirmDialog(
            `Roll ${m.name} back?`,
            `Version ${m.version} is replaced by the kept version ${m.previousVersion}.`,
            'Roll back',
          )
          return ok ? call('POST', `${path}/rollback`) : null
        })
      : null,
    h('button', { type: 'button', class: 'small ghost', onclick: () => openLogs(m.name) }, 'Logs'),
    button('Uninstall', 'danger-ghost', async () => {
      const purge = await confirmUninstall(m.name)
      if (purge === null) return null
      return call('DELETE', `${path}${purge ? '?purge=true' : ''}`)
    }),
  )
}

/**
 * Asks before an uninstall; resolves null (cancelled), or whether its data is to be deleted too.
 * @param {string} name @returns {Promise<boolean | null>}
 */
function confirmUninstall(name) {
  return new Promise((resolve) => {
    /** @type {boolean | null} */
    let answer = null
    const purge = h('input', { type: 'checkbox', id: 'uninstall-purge' })
    const dialog = openDialog(`Uninstall ${name}?`, (close) => [
      h(
        'p',
        null,
        'The bundle is stopped, its token revoked and its code removed. Its data is kept unless you tick:',
      ),
      h('label', { class: 'radio', for: 'uninstall-purge' }, purge, ' Delete its data directory too'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'ghost', onclick: close }, 'Cancel'),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            onclick: () => {
              answer = purge.checked
              close()
            },
          },
          'Uninstall',
        ),
      ),
    ])
    dialog.addEventListener('close', () => resolve(answer))
  })
}

/** The Install button: uploads a chosen .tar.gz as `application/gzip`. @param {Say} say @param {() => void} done */
export function installButton(say, done) {
  const input = h('input', {
    type: 'file',
    accept: '.tar.gz,.tgz,application/gzip',
    class: 'sr-only',
    id: 'install-file',
    'aria-label': 'Bundle tarball to install',
  })
  const button = h(
    'button',
    { type: 'button', class: 'small primary', onclick: () => input.click() },
    'Install…',
  )
  input.addEventListener('change', async () => {
    const file = input.files?.[0]
    if (!file) return
    button.disabled = true
    say(notice('info', `Installing ${file.name}…`))
    const a = await call('POST', '/bundles', { blob: { data: file, type: 'application/gzip' } })
    button.disabled = false
    input.value = ''
    if (a.ok) {
      const m = a.body?.managed
      say(notice('success', m ? `Installed ${m.name} ${m.version}.` : `Installed ${file.name}.`))
    } else say(notice('error', `Install of ${file.name} refused: ${errorText(a)}`))
    done()
  })
  return h('span', null, input, button)
}

/** Most lines the Logs view keeps on screen. */
const MAX_SHOWN = 2000

/** The Logs view of a bundle: its last 200 lines, then every new one, live until closed. @param {string} name */
export function openLogs(name) {
  const status = h('span', { class: 'live', role: 'status' }, 'Connecting…')
  const out = h('pre', { class: 'json log-view', 'aria-label': `Log of ${name}`, tabindex: '0' })
  const base = `/api/v1/bundles/${encodeURIComponent(name)}/logs`
  const source = new EventSource(`${base}?follow=true&tail=200`)
  source.addEventListener('open', () => {
    status.textContent = 'Live'
  })
  source.addEventListener('error', () => {
    status.textContent = source.readyState === EventSource.CLOSED ? 'Closed' : 'Reconnecting…'
  })
  source.addEventListener('log', (ev) => {
    /** @type {{ at: string, stream: string, line: string }} */
    const l = JSON.parse(/** @type {MessageEvent} */ (ev).data)
    const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 4
    out.append(h('span', { class: `log-line log-${l.stream}` }, `${l.at} ${l.stream.padEnd(7)} ${l.line}\n`))
    while (out.childElementCount > MAX_SHOWN) out.firstElementChild?.remove()
    if (stick) out.scrollTop = out.scrollHeight
  })
  const dialog = openDialog(`Logs of ${name}`, (close) => [
    h('div', { class: 'head-tools' }, status),
    out,
    h(
      'div',
      { class: 'actions' },
      h(
        'a',
        { class: 'button small ghost', href: `${base}?format=text&tail=10000`, download: `${name}.log` },
        'Download',
      ),
      h('button', { type: 'button', class: 'ghost', onclick: close }, 'Close'),
    ),
  ])
  dialog.classList.add('wide-dialog')
  dialog.addEventListener('close', () => source.close())
  return dialog
}
