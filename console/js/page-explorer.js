// @ts-check
import { call, errorText } from './api.js'
import { fill, h, notice, pageHead, pretty } from './dom.js'

const ALL = ['GET', 'POST', 'PUT', 'DELETE']

/** The gateway's file routes (docs/files.md), offered beside the bundles' resources; they take a file. */
const FILE_ROUTES = [
  { resource: '/files', methods: ['GET', 'POST'] },
  { resource: '/files/{id}', methods: ['GET', 'PUT', 'DELETE'] },
  { resource: '/helper/upload?resource=/', methods: ['POST', 'PUT'] },
  { resource: '/helper/download?resource=/', methods: ['GET'] },
]

/**
 * A JSON value that fits `schema` well enough to start editing from: its example, else a default, else an empty
 * value of its type (objects with their properties).
 * @param {any} schema @param {number} [depth] @returns {unknown}
 */
export function skeleton(schema, depth = 0) {
  if (!schema || typeof schema !== 'object' || depth > 4) return {}
  if (schema.example !== undefined) return schema.example
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0]
  if (schema.default !== undefined) return schema.default
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  if (type === 'string') return ''
  if (type === 'number' || type === 'integer') return 0
  if (type === 'boolean') return false
  if (type === 'array') return []
  /** @type {Record<string, unknown>} */
  const out = {}
  for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = skeleton(v, depth + 1)
  return out
}

/**
 * The API explorer: pick a registered resource and method, edit the JSON body, choose a token (this session or a
 * pasted one), send, and see status, time and the pretty JSON answer. `#/explorer?method=GET&path=/x` preselects.
 * @param {HTMLElement} el
 * @param {URLSearchParams} params
 */
export function renderExplorer(el, params) {
  /** @type {Map<string, string[]>} */
  const methodsOf = new Map()
  /** From the OpenAPI document, when the gateway serves one: pattern → path template and request schemas. */
  /** @type {Map<string, { path: string, bodies: Record<string, unknown> }>} */
  const fromSpec = new Map()
  let bodyEdited = false
  const resource = h('select', { id: 'ex-resource' }, h('option', { value: '' }, 'Loading…'))
  const method = h(
    'select',
    { id: 'ex-method' },
    ALL.map((m) => h('option', { value: m }, m)),
  )
  const path = h('input', {
    id: 'ex-path',
    class: 'mono',
    value: params.get('path') ?? '',
    spellcheck: 'false',
    autocomplete: 'off',
  })
  const body = h('textarea', { id: 'ex-body', class: 'mono', rows: 8, spellcheck: 'false' }, '{\n  \n}')
  const file = h('input', { type: 'file', id: 'ex-file' })
  const useSession = h('input', {
    type: 'radio',
    name: 'ex-auth',
    id: 'ex-auth-session',
    value: 'session',
    checked: true,
  })
  const usePasted = h('input', { type: 'radio', name: 'ex-auth', id: 'ex-auth-token', value: 'token' })
  const token = h('input', {
    id: 'ex-token',
    class: 'mono',
    placeholder: 'bgt_…',
    autocomplete: 'off',
    spellcheck: 'false',
    disabled: true,
  })
  const send = h('button', { type: 'submit', class: 'primary', id: 'ex-send' }, 'Send')
  const result = h(
    'section',
    { class: 'card result', 'aria-live': 'polite', 'aria-labelledby': 'ex-result-title' },
    h('h2', { id: 'ex-result-title' }, 'Response'),
    h('p', { class: 'muted' }, 'Nothing sent yet.'),
  )

  const syncAuth = () => {
    token.disabled = !usePasted.checked
    if (usePasted.checked) token.focus()
  }
  useSession.addEventListener('change', syncAuth)
  usePasted.addEventListener('change', syncAuth)

  const syncBody = () => {
    const hasBody = method.value !== 'GET'
    body.disabled = !hasBody
    file.disabled = !hasBody
    const spec = fromSpec.get(resource.value)
    const schema = spec?.bodies[method.value.toLowerCase()]
    if (hasBody && !bodyEdited && schema !== undefined) body.value = JSON.stringify(skeleton(schema), null, 2)
  }
  method.addEventListener('change', syncBody)
  body.addEventListener('input', () => {
    bodyEdited = true
  })

  resource.addEventListener('change', () => {
    const pattern = resource.value
    if (!pattern) return
    path.value = fromSpec.get(pattern)?.path ?? pattern
    bodyEdited = false
    const allowed = methodsOf.get(pattern) ?? ALL
    for (const o of method.options) o.disabled = !allowed.includes(o.value)
    if (!allowed.includes(method.value)) method.value = allowed[0] ?? 'GET'
    syncBody()
  })

  const form = h(
    'form',
    { class: 'card stack explorer', 'aria-labelledby': 'ex-title' },
    h('h2', { id: 'ex-title', class: 'sr-only' }, 'Request'),
    h(
      'div',
      { class: 'grid-2' },
      h('div', null, h('label', { for: 'ex-resource' }, 'Resource'), resource),
      h('div', null, h('label', { for: 'ex-method' }, 'Method'), method),
    ),
    h(
      'label',
      { for: 'ex-path' },
      'Path ',
      h(
        'span',
        { class: 'muted' },
        '(below /api/v1; put values in place of {params} or + and #, add ?query)',
      ),
    ),
    path,
    h('label', { for: 'ex-body' }, 'JSON body'),
    body,
    h(
      'label',
      { for: 'ex-file' },
      'File ',
      h(
        'span',
        { class: 'muted' },
        '(optional: sent as multipart/form-data, with the body above as its field jsonData)',
      ),
    ),
    file,
    h(
      'fieldset',
      null,
      h('legend', null, 'Authenticate with'),
      h('label', { class: 'radio', for: 'ex-auth-session' }, useSession, ' This session (admin)'),
      h('label', { class: 'radio', for: 'ex-auth-token' }, usePasted, ' An API token'),
      h('label', { for: 'ex-token', class: 'sr-only' }, 'API token'),
      token,
    ),
    h('div', { class: 'actions' }, send),
  )

  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    let target = path.value.trim()
    if (!target.startsWith('/')) target = `/${target}`
    /** @type {{ body?: unknown, token?: string, raw?: boolean, form?: FormData }} */
    const options = {}
    const chosen = file.files?.[0]
    if (method.value !== 'GET' && chosen) {
      const form = new FormData()
      const text = body.value.trim()
      if (text && text.replace(/\s/g, '') !== '{}') form.append('jsonData', text)
      form.append('file', chosen, chosen.name)
      options.form = form
    } else if (method.value !== 'GET') {
      const text = body.value.trim()
      if (text) {
        try {
          options.body = JSON.parse(text)
        } catch (err) {
          fill(
            result,
            h('h2', { id: 'ex-result-title' }, 'Response'),
            notice('error', `The body is not valid JSON: ${String(err)}`),
          )
          body.focus()
          return
        }
      }
    }
    if (usePasted.checked) {
      if (!token.value.trim()) {
        token.focus()
        return
      }
      options.token = token.value.trim()
    }
    send.disabled = true
    try {
      const a = await call(method.value, target, options)
      const cls = a.status < 300 ? 'ok' : a.status < 500 ? 'warn' : 'bad'
      fill(
        result,
        h('h2', { id: 'ex-result-title' }, 'Response'),
        h(
          'p',
          { class: 'result-line' },
          h('span', { class: `pill ${cls}`, id: 'ex-status' }, String(a.status)),
          h('span', { class: 'mono' }, `${method.value} /api/v1${target}`),
          h('span', { class: 'muted', id: 'ex-time' }, `${a.ms} ms`),
        ),
        a.body === null
          ? h('p', { class: 'muted' }, 'No body.')
          : h('pre', { class: 'json', id: 'ex-response', tabindex: 0 }, pretty(a.body)),
      )
    } catch (err) {
      fill(
        result,
        h('h2', { id: 'ex-result-title' }, 'Response'),
        notice('error', `The request failed: ${String(err)}`),
      )
    } finally {
      send.disabled = false
    }
  })

  fill(
    el,
    pageHead('API explorer', 'Call a registered resource the way a program would.'),
    h('div', { class: 'explorer-layout' }, form, result),
  )
  syncBody()

  // the OpenAPI document (if this gateway serves one) names the path parameters and describes request bodies
  const spec = call('GET', '/openapi.json').then((a) => {
    if (!a.ok || !a.body || typeof a.body.paths !== 'object') return
    for (const [template, item] of Object.entries(/** @type {Record<string, any>} */ (a.body.paths))) {
      const pattern = item?.['x-bundlegate-pattern']
      if (typeof pattern !== 'string') continue
      /** @type {Record<string, unknown>} */
      const bodies = {}
      for (const verb of ['post', 'put', 'delete']) {
        const schema = item[verb]?.requestBody?.content?.['application/json']?.schema
        if (schema !== undefined) bodies[verb] = schema
      }
      fromSpec.set(pattern, { path: template.replace(/^\/api\/v1(?=\/)/, ''), bodies })
    }
  })
  void Promise.all([call('GET', '/bundles'), spec.catch(() => {})]).then(([a]) => {
    if (!a.ok) return fill(resource, h('option', { value: '' }, errorText(a)))
    /** @type {{ name: string, resources: { resource: string, methods: string[] | null }[] }[]} */
    const bundles = a.body
    const groups = bundles
      .filter((b) => b.resources.length > 0)
      .sort((x, y) => x.name.localeCompare(y.name))
      .map((b) =>
        h(
          'optgroup',
          { label: b.name },
          b.resources.map((r) => {
            const methods = (r.methods ?? ALL).map((m) => m.toUpperCase())
            methodsOf.set(r.resource, methods)
            return h('option', { value: r.resource }, `${r.resource}  (${methods.join(', ')})`)
          }),
        ),
      )
    const files = h(
      'optgroup',
      { label: 'gateway: files' },
      FILE_ROUTES.map((r) => {
        methodsOf.set(r.resource, r.methods)
        return h('option', { value: r.resource }, `${r.resource}  (${r.methods.join(', ')})`)
      }),
    )
    fill(
      resource,
      h('option', { value: '' }, groups.length ? 'Choose a resource…' : 'No resource is registered'),
      groups,
      files,
    )
    const wanted = params.get('path')
    const m = params.get('method')?.toUpperCase()
    if (wanted && methodsOf.has(wanted)) {
      resource.value = wanted
      resource.dispatchEvent(new Event('change'))
    }
    if (m && ALL.includes(m)) {
      method.value = m
      syncBody()
    }
  })
}
