import assert from 'node:assert/strict'
import type { Gateway } from '../../src/server.ts'
import { logSink, startTestGateway } from '../helpers/gateway.ts'

/** A gateway whose log is kept, and the admin's initial password read from it. */
export async function gatewayWithAdmin(t: { after: (fn: () => Promise<void>) => void }) {
  const sink = logSink('info')
  const gw = await startTestGateway({}, sink.logger)
  t.after(() => gw.close())
  const line = sink.lines.find((l) => String(l.msg).includes('created with the initial password'))
  const initial = /initial password (\S+)/.exec(String(line?.msg ?? ''))?.[1]
  assert.ok(initial, 'the first start logs the initial password')
  return { gw, initial, lines: sink.lines }
}

/** Logs in through the web service; the session cookie (name=value) and CSRF token. */
export async function login(gw: Gateway, password: string, username = 'admin') {
  const r = await gw.http.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { username, password },
  })
  assert.equal(r.statusCode, 200, r.body)
  const setCookie = String(r.headers['set-cookie'])
  const cookie = setCookie.split(';')[0] as string
  const body = r.json() as { username: string; mustChangePassword: boolean; csrfToken: string }
  return { cookie, csrf: body.csrfToken, body, setCookie }
}

/** An in-process request with a session cookie and, when given, the CSRF header. */
export function withSession(
  gw: Gateway,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  session: { cookie: string; csrf?: string },
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  const h: Record<string, string> = { cookie: session.cookie, ...headers }
  if (session.csrf !== undefined) h['x-csrf-token'] = session.csrf
  return gw.http.inject({
    method,
    url,
    headers: h,
    ...(payload === undefined ? {} : { payload: payload as object }),
  })
}
