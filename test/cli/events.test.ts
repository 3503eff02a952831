/**
 * `bundlegate events <pattern>…`: prints the push channel one line per event (or the raw JSON with --json),
 * reconnects and resumes with Last-Event-ID when the connection drops, and refuses what retrying cannot fix.
 */
import assert from 'node:assert/strict'
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
