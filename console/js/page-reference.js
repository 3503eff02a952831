// @ts-check
import { call, errorText } from './api.js'
import { fill, h, notice, pageHead, pretty } from './dom.js'

const METHODS = ['get', 'post', 'put', 'delete', 'patch']

/**
 * Follows a local `$ref` (`#/components/…`) once.
 * @param {any} doc @param {any} node @returns {any}
 */
function deref(doc, node) {
  if (!node || typeof node !== 'object' || typeof node.$ref !== 'string' || !node.$ref.startsWith('#/'))
    return node
  let cur = doc
  for (const part of node.$ref.slice(2).split('/')) cur = cur?.[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  return cur ?? node
}

/** @param {any} doc @param {string} path @param {string} verb @param {any} op */
function operation(doc, path, verb, op) {
  const params = /** @type {any[]} */ (op.parameters ?? []).map((p) => deref(doc, p))
  const reqBody = deref(doc, op.requestBody)
  const reqSchema = reqBody?.content?.['application/json']?.schema
  const responses = Object.entries(op.responses ?? {})
  const upper = verb.toUpperCase()
  return h(
    'details',
    { class: 'op' },
    h(
      'summary',
      null,
      h('span', { class: `method m-${verb}` }, upper),
      h('code', null, path),
      op.summary ? h('span', { class: 'muted op-summary' }, op.summary) : null,
    ),
    h(
      'div',
      { class: 'op-body' },
      op.description ? h('p', null, op.description) : null,
      params.length
        ? h(
            'table',
            { class: 'table compact' },
            h('caption', null, 'Parameters'),
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Name', 'In', 'Required', 'Description'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h(
              'tbody',
              null,
              params.map((p) =>
                h(
                  'tr',
                  null,
                  h('td', null, h('code', null, p.name)),
                  h('td', null, p.in),
                  h('td', null, p.required ? 'yes' : 'no'),
                  h('td', null, p.description ?? ''),
                ),
              ),
            ),
          )
        : null,
      reqSchema
        ? h(
            'div',
            null,
            h('h4', null, 'Request body'),
            h('pre', { class: 'json' }, pretty(deref(doc, reqSchema))),
          )
        : null,
      responses.length
        ? h(
            'div',
            null,
            h('h4', null, 'Responses'),
            h(
              'ul',
              { class: 'responses' },
              responses.map(([code, r]) =>
                h('li', null, h('code', null, code), ' ', deref(doc, r)?.description ?? ''),
              ),
            ),
          )
        : null,
      path.startsWith('/api/v1/')
        ? h(
            'p',
            null,
            h(
              'a',
              { href: `#/explorer?method=${upper}&path=${encodeURIComponent(path.slice('/api/v1'.length))}` },
              'Try it in the API explorer',
            ),
          )
        : null,
    ),
  )
}

/** The API reference: `GET /api/v1/openapi.json` rendered, grouped by tag. @param {HTMLElement} el */
export function renderReference(el) {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'))
  fill(
    el,
    pageHead(
      'API reference',
      'The gateway\u2019s endpoints and every registered resource, from /api/v1/openapi.json.',
    ),
    body,
  )
  void call('GET', '/openapi.json').then((a) => {
    if (a.status === 404)
      return fill(
        body,
        notice(
          'info',
          'This gateway does not serve an OpenAPI document (GET /api/v1/openapi.json answered 404).',
        ),
      )
    if (!a.ok) return fill(body, notice('error', errorText(a)))
    const doc = a.body
    /** @type {Map<string, HTMLElement[]>} */
    const groups = new Map()
    const serverBase = typeof doc.servers?.[0]?.url === 'string' ? doc.servers[0].url.replace(/\/$/, '') : ''
    for (const [path, item] of Object.entries(doc.paths ?? {}).sort(([x], [y]) => x.localeCompare(y))) {
      for (const verb of METHODS) {
        const op = /** @type {any} */ (item)?.[verb]
        if (!op) continue
        const tag = op.tags?.[0] ?? 'other'
        const fullPath = serverBase && !path.startsWith(serverBase) ? `${serverBase}${path}` : path
        if (!groups.has(tag)) groups.set(tag, [])
        groups.get(tag)?.push(operation(doc, fullPath, verb, op))
      }
    }
    fill(
      body,
      h(
        'p',
        null,
        h('strong', null, doc.info?.title ?? 'API'),
        doc.info?.version ? ` · version ${doc.info.version}` : '',
        ' · ',
        h('a', { href: '/api/v1/openapi.json', download: 'openapi.json' }, 'openapi.json'),
      ),
      doc.info?.description ? h('p', { class: 'muted' }, doc.info.description) : null,
      [...groups].map(([tag, ops]) =>
        h('section', { class: 'card ref-group', 'aria-label': tag }, h('h2', null, tag), ops),
      ),
    )
  })
}
