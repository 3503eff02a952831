// @ts-check
import { call, errorText } from './api.js'
import { confirmDialog, fill, h, notice, openDialog, pageHead, timeEl } from './dom.js'

/** @typedef {{ id: string, description: string, scope: string, createdAt: string, lastUsedAt: string | null, expiresAt: string | null, revokedAt: string | null }} Token */

const SCOPES = /** @type {Record<string, string>} */ ({
  read: 'Read',
  readwrite: 'Read/Write',
  admin: 'Admin (root)',
})
const EXPIRY = [
  ['', 'Never'],
  ['86400', '1 day'],
  ['604800', '7 days'],
  ['2592000', '30 days'],
  ['7776000', '90 days'],
  ['31536000', '1 year'],
]

/** @param {Token} t */
function status(t) {
  if (t.revokedAt) return h('span', { class: 'pill bad', title: `Revoked ${t.revokedAt}` }, 'Revoked')
  if (t.expiresAt && Date.parse(t.expiresAt) <= Date.now()) return h('span', { class: 'pill bad' }, 'Expired')
  return h('span', { class: 'pill ok' }, 'Active')
}

/** The Token page: list, Add Token, revoke; the root token file's location. @param {HTMLElement} el */
export function renderTokens(el) {
  const messages = h('div', { 'aria-live': 'polite' })
  const rootFile = h('p', { class: 'muted' })
  const list = h('div', { class: 'card flush' }, h('p', { class: 'pad muted' }, 'Loading…'))

  async function load() {
    const a = await call('GET', '/tokens')
    if (!a.ok) return fill(list, notice('error', errorText(a)))
    /** @type {Token[]} */
    const tokens = a.body
    if (tokens.length === 0) return fill(list, h('p', { class: 'pad muted' }, 'No tokens yet.'))
    const rows = tokens.map((t) =>
      h(
        'tr',
        { 'data-token-id': t.id, class: t.revokedAt ? 'dim' : null },
        h(
          'td',
          { 'data-label': 'Description' },
          h('strong', null, t.description),
          h('div', { class: 'mono small muted' }, t.id),
        ),
        h('td', { 'data-label': 'Scope' }, SCOPES[t.scope] ?? t.scope),
        h('td', { 'data-label': 'Created' }, timeEl(t.createdAt)),
        h('td', { 'data-label': 'Last used' }, timeEl(t.lastUsedAt)),
        h(
          'td',
          { 'data-label': 'Expires' },
          t.expiresAt ? timeEl(t.expiresAt) : h('span', { class: 'muted' }, 'Never'),
        ),
        h('td', { 'data-label': 'Status' }, status(t)),
        h(
          'td',
          { class: 'actions-cell' },
          !t.revokedAt && t.scope !== 'admin'
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'small danger-ghost',
                  onclick: () => revoke(t),
                  'aria-label': `Revoke ${t.description}`,
                },
                'Revoke',
              )
            : null,
        ),
      ),
    )
    fill(
      list,
      h(
        'table',
        { class: 'table responsive' },
        h('caption', { class: 'sr-only' }, 'API tokens'),
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Description', 'Scope', 'Created', 'Last used', 'Expires', 'Status'].map((c) =>
              h('th', { scope: 'col' }, c),
            ),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
          ),
        ),
        h('tbody', null, rows),
      ),
    )
  }

  /** @param {Token} t */
  async function revoke(t) {
    const ok = await confirmDialog(
      'Revoke token?',
      `"${t.description}" stops working at once: every call made with it answers 401. This cannot be undone.`,
      'Revoke',
    )
    if (!ok) return
    const a = await call('DELETE', `/tokens/${encodeURIComponent(t.id)}`)
    fill(
      messages,
      a.ok ? notice('success', `Token "${t.description}" revoked.`) : notice('error', errorText(a)),
    )
    await load()
  }

  function add() {
    const error = h('div', { 'aria-live': 'polite' })
    const description = h('input', {
      id: 'tok-description',
      required: true,
      maxlength: 200,
      placeholder: 'e.g. Grafana dashboard',
    })
    /** @param {string} value @param {string} label @param {boolean} checked */
    const radio = (value, label, checked) =>
      h(
        'label',
        { class: 'radio' },
        h('input', { type: 'radio', name: 'tok-scope', value, checked }),
        ' ',
        label,
      )
    const expiry = h(
      'select',
      { id: 'tok-expiry' },
      EXPIRY.map(([v, l]) => h('option', { value: v }, l ?? '')),
    )
    const create = h('button', { type: 'submit', class: 'primary' }, 'Create')
    const dialog = openDialog('Add Token', (close) => {
      const form = h(
        'form',
        { class: 'stack' },
        error,
        h('label', { for: 'tok-description' }, 'Description'),
        description,
        h(
          'fieldset',
          null,
          h('legend', null, 'Scope'),
          radio('read', 'Read — GET on bundle resources', true),
          radio('readwrite', 'Read/Write — also POST, PUT and DELETE', false),
        ),
        h('label', { for: 'tok-expiry' }, 'Expires after'),
        expiry,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'ghost', onclick: close }, 'Cancel'),
          create,
        ),
      )
      form.addEventListener('submit', async (e) => {
        e.preventDefault()
        const scope = /** @type {HTMLInputElement | null} */ (
          form.querySelector('input[name="tok-scope"]:checked')
        )?.value
        /** @type {Record<string, unknown>} */
        const body = { description: description.value, scope }
        if (expiry.value) body.expiresInSec = Number(expiry.value)
        create.disabled = true
        const a = await call('POST', '/tokens', { body })
        create.disabled = false
        if (!a.ok) return fill(error, notice('error', errorText(a)))
        showSecret(form, a.body, close)
        void load()
      })
      return [form]
    })
    dialog.addEventListener('close', () => void load())
    description.focus()
  }

  /** @param {HTMLFormElement} form @param {Token & { token: string }} created @param {() => void} close */
  function showSecret(form, created, close) {
    const secret = h('input', {
      id: 'tok-secret',
      class: 'mono',
      readonly: true,
      value: created.token,
      'aria-describedby': 'tok-once',
    })
    const copied = h('span', { class: 'copied', role: 'status' })
    const copy = h('button', { type: 'button', class: 'primary', id: 'tok-copy' }, 'Copy')
    copy.addEventListener('click', async () => {
      secret.select()
      try {
        await navigator.clipboard.writeText(created.token)
      } catch {
        document.execCommand('copy')
      }
      copied.textContent = 'Copied'
    })
    const done = h('button', { type: 'button', class: 'ghost', onclick: close }, 'Done')
    fill(
      form,
      notice(
        'success',
        `Token "${created.description}" created (${SCOPES[created.scope] ?? created.scope}).`,
      ),
      h(
        'p',
        { id: 'tok-once' },
        h('strong', null, 'Copy it now: '),
        'the secret is shown only this once. Send it in the ',
        h('code', null, 'mx-api-token'),
        ' header.',
      ),
      h('label', { for: 'tok-secret' }, 'Token'),
      h('div', { class: 'copy-row' }, secret, copy),
      copied,
      h('div', { class: 'actions' }, done),
    )
    secret.focus()
    secret.select()
  }

  fill(
    el,
    pageHead(
      'API tokens',
      'Tokens let programs call /api/v1. Read tokens may only GET; Read/Write tokens may also change things.',
      h('button', { type: 'button', class: 'primary', id: 'add-token', onclick: add }, 'Add Token'),
    ),
    messages,
    rootFile,
    list,
  )
  void call('GET', '/auth/console').then((a) => {
    if (a.ok && a.body.rootTokenFile)
      fill(
        rootFile,
        'The root token (admin scope) is in the file ',
        h('code', { id: 'root-token-file' }, a.body.rootTokenFile),
        ' on the device.',
      )
  })
  void load()
}
