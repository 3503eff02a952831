import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openSse, startEventsGateway } from '../helpers/events.ts'
import { lifo, logSink, waitFor } from '../helpers/gateway.ts'
import { login, withSession } from './console-helpers.ts'

test('[HA-3] a console session streams events with its cookie; logout ends the stream at the next heartbeat', async (t) => {
  const defer = lifo(t)
  const sink = logSink('info')
  const gw = await startEventsGateway({ events: { heartbeatMs: 100 }, logger: sink.logger })
  defer(() => gw.close())
  const initial = /initial password (\S+)/.exec(
    String(sink.lines.find((l) => String(l.msg).includes('initial password'))?.msg),
  )?.[1]
  assert.ok(initial)
  let session = await login(gw, initial)
  const changed = await withSession(gw, 'POST', '/api/v1/auth/password', session, {
    current: initial,
    next: 'a much better passphrase 42',
  })
  assert.equal(changed.statusCode, 204, changed.body)
  session = await login(gw, 'a much better passphrase 42')

  const sse = await openSse(`${gw.httpUrl}/api/v1/events?resource=/watched`, { cookie: session.cookie })
  defer(() => sse.close())
  assert.equal(sse.status, 200, sse.body)
  gw.controller.core.event({ method: 'put', resource: '/watched', code: 200, data: { n: 1 } })
  await sse.waitForEvents(1)
  // heartbeats do not count as activity, but the stream lives while the session does
  await waitFor(() => sse.comments.length >= 3, 5000, 'three heartbeats')
  assert.equal(sse.ended, false)

  const out = await withSession(gw, 'POST', '/api/v1/auth/logout', session)
  assert.equal(out.statusCode, 204)
  const loggedOut = performance.now()
  await waitFor(() => sse.ended, 5000, 'the stream of a logged-out session to end')
  t.diagnostic(`logout → stream closed in ${Math.round(performance.now() - loggedOut)} ms (heartbeat 100 ms)`)
})
