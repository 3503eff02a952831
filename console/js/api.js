// @ts-check
/**
 * Calls of the console to the gateway's /api/v1: the session cookie goes along by itself (HttpOnly, never read
 * here); writes add the CSRF token the login answered ([HA-3] item 3).
 */

/** @typedef {{ status: number, ok: boolean, body: any, ms: number, headers: Headers }} Answer */

let csrfToken = ''

/** @param {string} token */
export function setCsrf(token) {
  csrfToken = token
}

/** @type {(answer: Answer) => void} */
let onUnauthorized = () => {}

/** What to do when a session call answers 401 (the session ended): @param {(answer: Answer) => void} fn */
export function whenUnauthorized(fn) {
  onUnauthorized = fn
}

/**
 * A call with the console session (cookie and CSRF header), or with `token` instead (then the cookie stays home).
 * @param {string} method
 * @param {string} path below /api/v1, or a full path starting with /
 * @param {{ body?: unknown, token?: string, raw?: boolean, form?: FormData, blob?: { data: Blob, type: string } }} [options]
 *   `form`: a multipart body (a file upload), the browser sets its content type; `blob`: a raw body of that type
 * @returns {Promise<Answer>}
 */
export async function call(method, path, options = {}) {
  const url = path.startsWith('/api/') ? path : `/api/v1${path}`
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' }
  if (options.token !== undefined) {
    headers['mx-api-token'] = options.token
    init.credentials = 'omit'
  } else if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
    headers['x-csrf-token'] = csrfToken
  }
  if (options.form !== undefined) {
    init.body = options.form
  } else if (options.blob !== undefined) {
    headers['content-type'] = options.blob.type
    init.body = options.blob.data
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = typeof options.body === 'string' && options.raw ? options.body : JSON.stringify(options.body)
  }
  const started = performance.now()
  const res = await fetch(url, init)
  const text = await res.text()
  const ms = Math.round(performance.now() - started)
  /** @type {any} */
  let body = null
  if (text) {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  const answer = { status: res.status, ok: res.ok, body, ms, headers: res.headers }
  if (res.status === 401 && options.token === undefined && !url.endsWith('/auth/login'))
    onUnauthorized(answer)
  return answer
}

/** The error text of an answer: its `message` and `code`. @param {Answer} a */
export function errorText(a) {
  if (a.body && typeof a.body === 'object' && typeof a.body.message === 'string') {
    return a.body.code ? `${a.body.message} (${a.body.code})` : a.body.message
  }
  return `HTTP ${a.status}`
}
