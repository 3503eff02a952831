// @ts-check
/** Small DOM helpers: elements from data (text only, never HTML strings), times, dialogs. */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * An element with attributes, `on<event>` listeners and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    } else if (key === 'class') el.className = String(value)
    else if (key === 'value' && 'value' in el) /** @type {HTMLInputElement} */ (el).value = String(value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === 'number' ? String(c) : c)
  }
  return el
}

/**
 * The element with `id`, of the expected type.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id)
  if (!(el instanceof type)) throw new Error(`#${id} is missing`)
  return el
}

/** @param {string | null | undefined} iso @returns {string} */
export function formatTime(iso) {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** "3 min ago", "in 2 days": @param {string | null | undefined} iso @returns {string} */
export function relativeTime(iso) {
  if (!iso) return '—'
  const diff = (new Date(iso).getTime() - Date.now()) / 1000
  const abs = Math.abs(diff)
  /** @type {[number, Intl.RelativeTimeFormatUnit][]} */
  const units = [
    [60, 'second'],
    [3600, 'minute'],
    [86400, 'hour'],
    [2592000, 'day'],
    [31536000, 'month'],
    [Infinity, 'year'],
  ]
  const sizes = { second: 1, minute: 60, hour: 3600, day: 86400, month: 2592000, year: 31536000 }
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' })
  for (const [limit, unit] of units) {
    if (abs < limit)
      return fmt.format(Math.round(diff / sizes[/** @type {keyof typeof sizes} */ (unit)]), unit)
  }
  return formatTime(iso)
}

/** A `<time>` showing a relative time, the exact one as its title. @param {string | null | undefined} iso */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—')
  return h('time', { datetime: iso, title: formatTime(iso) }, relativeTime(iso))
}

/** Replaces the content of `el`. @param {Element} el @param {...(Child | Child[])} children */
export function fill(el, ...children) {
  el.replaceChildren()
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === 'number' ? String(c) : c)
  }
}

/**
 * The heading of a console page: its title, a line saying what the page is for, then `tools` (buttons…) beside them.
 * @param {string} title
 * @param {string} summary
 * @param {...Child} tools
 */
export function pageHead(title, summary, ...tools) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', null, title), h('p', { class: 'muted' }, summary)),
    ...tools,
  )
}

/** A message for screen readers and eyes: @param {'error' | 'info' | 'success'} kind @param {string} text */
export function notice(kind, text) {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text)
}

/**
 * A modal dialog (`<dialog>`: focus is trapped, Escape closes it) removed from the page once closed.
 * @param {string} title
 * @param {(close: () => void) => Child[]} body
 * @returns {HTMLDialogElement}
 */
export function openDialog(title, body) {
  const id = `dlg-${Math.random().toString(36).slice(2, 8)}`
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': id })
  const close = () => dialog.close()
  dialog.append(
    h('h2', { id }, title),
    ...body(close)
      .filter((c) => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : /** @type {Node | string} */ (c))),
  )
  dialog.addEventListener('close', () => dialog.remove())
  document.body.append(dialog)
  dialog.showModal()
  return dialog
}

/**
 * Asks for a confirmation; resolves true when confirmed.
 * @param {string} title @param {string} text @param {string} action
 * @returns {Promise<boolean>}
 */
export function confirmDialog(title, text, action) {
  return new Promise((resolve) => {
    let answer = false
    const dialog = openDialog(title, (close) => [
      h('p', null, text),
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
              answer = true
              close()
            },
          },
          action,
        ),
      ),
    ])
    dialog.addEventListener('close', () => resolve(answer))
  })
}

/** Pretty JSON of any value. @param {unknown} value */
export function pretty(value) {
  return value === undefined ? '' : JSON.stringify(value, null, 2)
}
