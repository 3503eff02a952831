/**
 * `bundlegate events <pattern>…`: prints the push channel one line per event (or the raw JSON with --json),
 * reconnects and resumes with Last-Event-ID when the connection drops, and refuses what retrying cannot fix.
 */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { after, before, describe, test } from 'node:test'
import type { Gateway } from '../../src/server.ts'
import { runCli, startCli } from '../helpers/cli.ts'
import { startEventsGateway } from '../helpers/events.ts'
import { lifo, logSink, waitFor } from '../helpers/gateway.ts'

describe('bundlegate events', () => {
  const cleanup = lifo({ after })
  const sink = logSink('debug')
  let gw: Gateway & { rootToken: string }
  const connected = () => sink.lines.filter((l) => l.msg === 'push client connected').length
  const emit = (resource: string, data: unknown, method = 'put') =>
    gw.controller.core.event({ method, resource, code: 200, data: data as null })

  before(async () => {
    gw = await startEventsGateway({ logger: sink.logger })
    cleanup(() => gw.close())
  })

  test('prints one line per matching event: time, METHOD, resource, code, data; exits after --count', async () => {
    const before = connected()
    const cli = startCli(['events', '/cli/+', '--url', gw.httpUrl, '--token', gw.rootToken, '--count', '2'])
    await waitFor(() => connected() > before, 5000, 'the CLI to connect')
    emit('/cli/1', { v: 1 })
    emit('/elsewhere', { v: 'no' })
    emit('/cli/2', 'two', 'post')
    assert.equal(await cli.done, 0, cli.stderr())
    const lines = cli.lines()
    assert.equal(lines.length, 2, cli.stdout())
    assert.match(lines[0] ?? '', /^\d{4}-\d\d-\d\dT[\d:.]+Z PUT \/cli\/1 200 \{"v":1\}$/)
    assert.match(lines[1] ?? '', /^\S+ POST \/cli\/2 200 "two"$/)
  })

  test('--json prints the raw event JSON, one per line', async () => {
    const before = connected()
    const cli = startCli([
      'events',
      '/j/#',
      '--url',
      `${gw.httpUrl}/api/v1`,
      '--token',
      gw.rootToken,
      '--count',
      '1',
      '--json',
    ])
    await waitFor(() => connected() > before, 5000, 'the CLI to connect')
    emit('/j/a/b', [1, 2])
    assert.equal(await cli.done, 0, cli.stderr())
    const e = JSON.parse(cli.lines()[0] ?? '{}') as Record<string, unknown>
    assert.deepEqual(Object.keys(e), ['resource', 'method', 'code', 'data', 'time'])
    assert.equal(e.resource, '/j/a/b')
    assert.deepEqual(e.data, [1, 2])
  })

  test('when the connection drops it reconnects with Last-Event-ID: the event published meanwhile is not lost', async () => {
    const before = connected()
    const cli = startCli([
      'events',
      '/re/+',
      '--url',
      gw.httpUrl,
      '--token',
      gw.rootToken,
      '--count',
      '3',
      '--json',
    ])
    await waitFor(() => connected() > before, 5000, 'the CLI to connect')
    emit('/re/1', 1)
    await waitFor(() => cli.lines().length === 1, 5000, 'the first event printed')
    gw.http.server.closeAllConnections() // the gateway side drops every connection
    emit('/re/2', 2) // while the CLI is away
    await waitFor(() => connected() > before + 1, 10_000, 'the CLI to reconnect')
    emit('/re/3', 3)
    assert.equal(await cli.done, 0, cli.stderr())
    assert.deepEqual(
      cli.lines().map((l) => (JSON.parse(l) as { data: number }).data),
      [1, 2, 3],
    )
    assert.match(cli.stderr(), /reconnecting in 500 ms/)
    const resumed = sink.lines.filter((l) => l.msg === 'push client connected').at(-1)
    assert.equal(typeof resumed?.resumeAfter, 'number', 'the reconnect sent Last-Event-ID')
  })

  test('a bad token or pattern is not retried: the answer is printed and the exit code is 1; usage errors exit 2', async () => {
    const bad = await runCli(['events', '/x', '--url', gw.httpUrl, '--token', 'bgt_nope'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /401 Unauthorized .*GW_ERR_AUTH_INVALID/)
    const pattern = await runCli(['events', '/x+', '--url', gw.httpUrl, '--token', gw.rootToken])
    assert.equal(pattern.code, 1)
    assert.match(pattern.stderr, /400 Bad Request .*GW_ERR_EVENTS_PATTERN/)
    assert.equal((await runCli(['events', '--url', gw.httpUrl])).code, 2)
    assert.equal((await runCli(['events', 'x', '--url', gw.httpUrl])).code, 2)
    assert.equal((await runCli(['events', '/x', '--count', '0'])).code, 2)
    const help = await runCli(['events', '--help'])
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Last-Event-ID/)
  })
})

/** A stand-in gateway on a free loopback port answering each request in turn with `answers[n]`; records requests. */
async function scriptedGateway(
  t: { after(fn: () => unknown): void },
  answers: Array<(res: ServerResponse) => void>,
): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = []
  const server = createServer((req, res) => {
    requests.push(req)
    const answer = answers[Math.min(requests.length, answers.length) - 1]
    answer?.(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, requests }
}

const stream = (id: number, data: unknown) => (res: ServerResponse) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  res.end(
    `id: ${id}\ndata: ${JSON.stringify({ resource: '/x', method: 'put', code: 200, data, time: 't' })}\n\n`,
  )
}
const refuse =
  (status: number, code: string, headers: Record<string, string> = {}) =>
  (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify({ message: `refused ${status}`, code }))
  }

test('bundlegate events: 503 and 429 while reconnecting are retried (Retry-After honoured) and resume with Last-Event-ID', async (t) => {
  const gw = await scriptedGateway(t, [
    stream(41, 1),
    refuse(503, 'GW_ERR_EVENTS_TOO_MANY_CLIENTS', { 'retry-after': '1' }),
    refuse(429, 'GW_ERR_RATE_LIMITED'),
    refuse(502, 'BAD_GATEWAY'),
    stream(42, 2),
  ])
  const cli = startCli(['events', '/x', '--url', gw.url, '--token', 'x', '--count', '2', '--json'])
  assert.equal(await cli.done, 0, cli.stderr())
  assert.deepEqual(
    cli.lines().map((l) => (JSON.parse(l) as { data: number }).data),
    [1, 2],
  )
  assert.deepEqual(
    gw.requests.map((r) => r.headers['last-event-id']),
    [undefined, '41', '41', '41', '41'],
  )
  const err = cli.stderr()
  assert.match(err, /503 Service Unavailable .*GW_ERR_EVENTS_TOO_MANY_CLIENTS.*; reconnecting in 1000 ms/)
  assert.match(err, /429 Too Many Requests .*; reconnecting in \d+ ms/)
  assert.match(err, /502 Bad Gateway .*; reconnecting in \d+ ms/)
})

test('bundlegate events: a first connection answered 503 is retried; 401, 403 and 404 exit 1 at once', async (t) => {
  const busy = await scriptedGateway(t, [refuse(503, 'GW_ERR_EVENTS_TOO_MANY_CLIENTS'), stream(7, 'ok')])
  const cli = startCli(['events', '/x', '--url', busy.url, '--token', 'x', '--count', '1'])
  assert.equal(await cli.done, 0, cli.stderr())
  assert.equal(busy.requests.length, 2)
  assert.match(cli.stderr(), /503 Service Unavailable .*; reconnecting in 500 ms/)
  for (const [status, code] of [
    [401, 'GW_ERR_AUTH_INVALID'],
    [403, 'GW_ERR_AUTH_FORBIDDEN'],
    [404, 'GW_ERR_NOT_FOUND'],
  ] as const) {
    const gw = await scriptedGateway(t, [refuse(status, code), stream(1, 'never')])
    const r = await runCli(['events', '/x', '--url', gw.url, '--token', 'x', '--count', '1'])
    assert.equal(r.code, 1, `${status}: ${r.stderr}`)
    assert.equal(gw.requests.length, 1, `${status} is not retried`)
    assert.match(r.stderr, new RegExp(`^bundlegate: ${status} .*${code}`))
    assert.doesNotMatch(r.stderr, /reconnecting/)
  }
})
