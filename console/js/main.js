// @ts-check
import { call, errorText, setCsrf, whenUnauthorized } from './api.js'
import { byId, fill, h, notice } from './dom.js'
import { renderBundles } from './page-bundles.js'
import { renderExplorer } from './page-explorer.js'
import { renderFleet } from './page-fleet.js'
import { renderReference } from './page-reference.js'
import { renderTokens } from './page-tokens.js'

/** @typedef {{ username: string | null, scope: string, mustChangePassword: boolean }} Me */

/** @type {Me | null} */
let me = null
/** Stops the current page's timers and streams. @type {() => void} */
let leave = () => {}

const main = byId('main', HTMLElement)
const topbar = byId('topbar', HTMLElement)

/** @type {Record<string, { title: string, render: (el: HTMLElement, params: URLSearchParams) => (() => void) | void }>} */
const PAGES = {
  bundles: { title: 'Bundles', render: renderBundles },
  tokens: { title: 'API tokens', render: renderTokens },
  fleet: { title: 'Fleet', render: renderFleet },
  explorer: { title: 'API explorer', render: renderExplorer },
  reference: { title: 'API reference', render: renderReference },
  password: { title: 'Change password', render: (el) => renderPassword(el, false) },
}

function route() {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?')
  return { page: path || 'bundles', params: new URLSearchParams(query) }
}

function show() {
  leave()
  leave = () => {}
  if (me === null) return renderLogin()
  if (me.mustChangePassword) return renderPassword(main, true)
  topbar.hidden = false
  fill(byId('who', HTMLElement), me.username ? `Signed in as ${me.username}` : 'Authentication is off')
  const { page, params } = route()
  const def = PAGES[page] ?? PAGES.bundles
  if (def === undefined) return
  for (const a of topbar.querySelectorAll('nav a')) {
    if (a.getAttribute('data-page') === (PAGES[page] ? page : 'bundles'))
      a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  document.title = `${def.title} · Bundlegate`
  main.replaceChildren()
  leave = def.render(main, params) ?? (() => {})
  main.focus({ preventScroll: true })
}

/** @param {string} [why] */
function renderLogin(why) {
  topbar.hidden = true
  document.title = 'Log in · Bundlegate'
  const error = h('div', { 'aria-live': 'polite' })
  const username = h('input', {
    id: 'login-username',
    name: 'username',
    autocomplete: 'username',
    required: true,
  })
  const password = h('input', {
    id: 'login-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  })
  const submit = h('button', { type: 'submit', class: 'primary wide' }, 'Log in')
  const form = h(
    'form',
    { class: 'card auth-card', 'aria-labelledby': 'login-title' },
    h(
      'div',
      { class: 'auth-brand' },
      h('img', { src: '/assets/favicon.svg', alt: '', width: 40, height: 40 }),
      'Bundlegate',
    ),
    h('h1', { id: 'login-title' }, 'Log in to the console'),
    why ? notice('info', why) : null,
    error,
    h('label', { for: 'login-username' }, 'Username'),
    username,
    h('label', { for: 'login-password' }, 'Password'),
    password,
    submit,
    h(
      'p',
      { class: 'hint' },
      'First start: the user is admin; its initial password is in the gateway\u2019s log, on the line \u201cconsole user admin created with the initial password \u2026\u201d.',
    ),
  )
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    submit.disabled = true
    fill(error)
    try {
      const a = await call('POST', '/auth/login', {
        body: { username: username.value, password: password.value },
      })
      if (!a.ok) {
        fill(error, notice('error', a.status === 401 ? 'Wrong username or password.' : errorText(a)))
        password.select()
        return
      }
      setCsrf(a.body.csrfToken)
      me = { username: a.body.username, scope: 'admin', mustChangePassword: a.body.mustChangePassword }
      show()
    } finally {
      submit.disabled = false
    }
  })
  fill(main, h('div', { class: 'auth-wrap' }, form))
  username.focus()
}

/** @param {HTMLElement} el @param {boolean} forced */
function renderPassword(el, forced) {
  topbar.hidden = forced
  document.title = 'Change password · Bundlegate'
  const error = h('div', { 'aria-live': 'polite' })
  /** @param {string} id @param {string} auto */
  const field = (id, auto) =>
    h('input', {
      id,
      type: 'password',
      autocomplete: auto,
      required: true,
      minlength: id === 'pw-current' ? null : 10,
    })
  const current = field('pw-current', 'current-password')
  const next = field('pw-next', 'new-password')
  const again = field('pw-again', 'new-password')
  const submit = h('button', { type: 'submit', class: 'primary wide' }, 'Change password')
  const form = h(
    'form',
    { class: 'card auth-card', 'aria-labelledby': 'pw-title' },
    h('h1', { id: 'pw-title' }, forced ? 'Choose your own password' : 'Change password'),
    forced ? notice('info', 'This is an initial password. Choose a new one before you go on.') : null,
    error,
    h('label', { for: 'pw-current' }, forced ? 'Initial password' : 'Current password'),
    current,
    h('label', { for: 'pw-next' }, 'New password'),
    next,
    h(
      'p',
      { class: 'hint', id: 'pw-rules' },
      'At least 10 characters, different from the current password and the username.',
    ),
    h('label', { for: 'pw-again' }, 'Repeat the new password'),
    again,
    submit,
    forced
      ? h(
          'button',
          {
            type: 'button',
            class: 'link-button',
            onclick: async () => {
              await call('POST', '/auth/logout')
              me = null
              setCsrf('')
              show()
            },
          },
          'Log out',
        )
      : null,
  )
  next.setAttribute('aria-describedby', 'pw-rules')
  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    fill(error)
    if (next.value !== again.value) {
      fill(error, notice('error', 'The two new passwords differ.'))
      again.focus()
      return
    }
    submit.disabled = true
    try {
      const a = await call('POST', '/auth/password', { body: { current: current.value, next: next.value } })
      if (a.status === 204) {
        if (me) me.mustChangePassword = false
        if (forced) location.hash = '#/bundles'
        show()
        if (!forced) main.prepend(notice('success', 'Your password was changed.'))
        return
      }
      fill(error, notice('error', a.status === 401 ? 'The current password is wrong.' : errorText(a)))
    } finally {
      submit.disabled = false
    }
  })
  fill(el, h('div', { class: 'auth-wrap' }, form))
  current.focus()
}

async function start() {
  whenUnauthorized(() => {
    if (me === null) return
    me = null
    leave()
    leave = () => {}
    renderLogin('Your session ended. Log in again.')
  })
  byId('logout', HTMLButtonElement).addEventListener('click', async () => {
    await call('POST', '/auth/logout')
    me = null
    setCsrf('')
    show()
  })
  window.addEventListener('hashchange', () => show())
  const a = await call('GET', '/auth/me')
  if (a.ok) {
    me = { username: a.body.username, scope: a.body.scope, mustChangePassword: a.body.mustChangePassword }
    if (a.body.csrfToken) setCsrf(a.body.csrfToken)
  }
  show()
}

start().catch((err) => fill(main, notice('error', `The console cannot start: ${String(err)}`)))
