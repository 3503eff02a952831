/**
 * [HA-3] item 4: the `?mx-api-token=` query token is redacted from every log line: the shapes fastify and our error
 * handler log (request URL, error message, message text), and a whole push-channel session at trace level.
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import { createLogger, redactQueryToken } from '../../src/logger.ts'
import { openSse, openWs, startEventsGateway } from '../helpers/events.ts'
import { lifo, waitFor } from '../helpers/gateway.ts'

function capture(level = 'trace') {
  let out = ''
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString()
      cb()
    },
  })
  return { logger: createLogger({ level, destination }), text: () => out }
}

const SECRET = 'bgt_QueryTokenSecret0123456789abcdefghijklmnop'

test('redactQueryToken: the value of every mx-api-token query parameter, nothing else', () => {
  assert.equal(
    redactQueryToken(`/api/v1/events?resource=/a&mx-api-token=${SECRET}&x=1`),
    '/api/v1/events?resource=/a&mx-api-token=[redacted]&x=1',
  )
  assert.equal(redactQueryToken(`/api/v1/ws?MX-API-TOKEN=${SECRET}`), '/api/v1/ws?MX-API-TOKEN=[redacted]')
  assert.equal(redactQueryToken('/api/v1/events?resource=/a'), '/api/v1/events?resource=/a')
})

test('log lines with the URL as fastify and the error handler log it never show the query token', async () => {
  const { logger, text } = capture()
  const url = `/api/v1/events?resource=%2Fa&mx-api-token=${SECRET}`
  logger.error({ url, method: 'GET' }, 'request failed')
  logger.child({ component: 'http' }).warn({ err: new Error(`cannot route ${url}`) }, 'failed')
  logger.info(`GET ${url}`)
  logger.info('%s', url)
  // fastify's own request logging (off in the gateway, on here) with its req serializer
  const app = Fastify({ loggerInstance: logger as unknown as FastifyBaseLogger })
  app.get('/api/v1/events', async () => ({}))
  await app.inject({ method: 'GET', url })
  await app.close()
  const out = text()
  assert.match(out, /incoming request/)
  assert.match(out, /mx-api-token=\[redacted\]/)
  assert.ok(!out.includes(SECRET), out)
  // url, error message and stack, two messages, fastify's request line
  assert.equal(out.match(/mx-api-token=\[redacted\]/g)?.length, 6, out)
  assert.match(
    out,
    /"req":\{"method":"GET","url":"\/api\/v1\/events\?resource=%2Fa&mx-api-token=\[redacted\]"/,
  )
  assert.match(out, /"err":\{"type":"Error"/)
})

test('a whole push-channel session at trace level (connect, refuse, WebSocket, drop, close): the token never appears', async (t) => {
  const defer = lifo(t)
  const { logger, text } = capture('trace')
  const gw = await startEventsGateway({ logger, events: { heartbeatMs: 100 } })
  defer(() => gw.close())
  const token = gw.rootToken
  const sse = await openSse(`${gw.httpUrl}/api/v1/events?resource=/l/%23&mx-api-token=${token}`)
  defer(() => sse.close())
  assert.equal(sse.status, 200)
  gw.controller.core.event({ method: 'put', resource: '/l/1', code: 200, data: { v: 1 } })
  await sse.waitForEvents(1)
  const bad = await openSse(`${gw.httpUrl}/api/v1/events?resource=/l/%23&mx-api-token=${SECRET}`)
  assert.equal(bad.status, 401)
  const badPattern = await openSse(`${gw.httpUrl}/api/v1/events?resource=bad&mx-api-token=${token}`)
  assert.equal(badPattern.status, 400)
  const elsewhere = await fetch(`${gw.httpUrl}/api/v1/nothing?mx-api-token=${token}`)
  assert.equal(elsewhere.status, 401)
  const ws = await openWs(
    `${gw.httpUrl.replace('http', 'ws')}/api/v1/ws?resource=/l/%23&mx-api-token=${token}`,
  )
  ws.send({ type: 'subscribe', resource: 'bad' })
  await ws.next((m) => m.type === 'error')
  await waitFor(() => sse.comments.includes('heartbeat'))
  await ws.close()
  sse.close()
  await gw.close()
  const out = text()
  assert.match(out, /push client connected/, 'the session was logged')
  assert.ok(!out.includes(token), 'the root token never appears')
  assert.ok(!out.includes(SECRET), 'the refused token never appears')
})
