/**
 * The bundle manager over HTTP with real bundle processes (issue 15; docs/manager.md "HTTP API and CLI"): the list
 * with the manager's fields beside a bundle started by hand, control, [HA-15] 503 at once for a bundle that is not
 * serving (with Retry-After in backoff), logs (tail, text, follow), state events on the push channel, uninstall
 * revoking the bundle's token, the OpenAPI document.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { silentLogger } from '../../src/logger.ts'
import { createBundle, type FunctionalBundle } from '../../src/sdk/index.ts'
import type { ManagedBundleView } from '../../src/web/index.ts'
import { openSse } from '../helpers/events.ts'
import { startTestGateway, waitFor } from '../helpers/gateway.ts'
import { writeBundle } from '../helpers/managed-bundles.ts'

type Gw = Awaited<ReturnType<typeof startTestGateway>>

const parent = await mkdtemp(join(tmpdir(), 'bg-mgrhttp-'))
after(() => rm(parent, { recursive: true, force: true }))

/** `fetch` of `/api/v1<path>` with the token; the status, headers and parsed body. */
async function api(
  gw: Gw,
  method: string,
  path: string,
  token: string | null = gw.rootToken,
  // biome-ignore lint/suspicious/noExplicitAny: the bodies are checked field by field
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${gw.httpUrl}/api/v1${path}`, {
    method,
    headers: token === null ? {} : { 'mx-api-token': token },
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, body }
}

/** Sends `text` on a fresh connection and returns everything the server sends until it closes (or 5 s). */
function rawAnswer(gw: Gw, text: string): Promise<string> {
  const port = Number(new URL(gw.httpUrl).port)
  return new Promise((resolve, reject) => {
    let got = ''
    const socket = connect(port, '127.0.0.1', () => socket.write(text))
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      got += d
    })
    const timer = setTimeout(() => socket.destroy(), 5000)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(got)
    })
    socket.on('error', reject)
  })
}

/** Polls `GET /api/v1/bundles/<name>` until its managed state is `state`. */
async function untilState(gw: Gw, name: string, state: string, ms = 20_000): Promise<ManagedBundleView> {
  let last: ManagedBundleView | undefined
  const end = Date.now() + ms
  while (Date.now() < end) {
    const r = await api(gw, 'GET', `/bundles/${name}`)
    last = r.body as ManagedBundleView
    if (last?.managed?.state === state) return last
    await new Promise((res) => setTimeout(res, 50))
  }
  throw new Error(`${name} never reached ${state}: last ${JSON.stringify(last?.managed)}`)
}

describe('managed bundles over HTTP', () => {
  let gw: Gw
  let readToken: string
  let byHand: FunctionalBundle

  before(async () => {
    // a long first backoff, so that a failing bundle stays in backoff while the test looks at it
    gw = await startTestGateway({ manager: { restartInitialMs: 30_000, startupTimeoutSec: 30 } })
    readToken = gw.tokens?.create({ description: 'reader', scope: 'read' }).secret as string
    byHand = createBundle({
      manifest: {
        name: 'byhand',
        version: '1.0.0',
        description: 'started by hand',
        role: 'model',
        ttl: 5,
        resources: [{ resource: '/byhand', methods: ['get'] }],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
    })
    byHand.get('/byhand', () => ({ hand: true }))
    await byHand.start()
    await gw.manager.installDirectory(
      await writeBundle(parent, { name: 'alpha', behaviour: 'chatty', lang: 'js' }),
    )
    await gw.manager.installDirectory(
      await writeBundle(parent, { name: 'idle', behaviour: 'chatty', lang: 'js' }),
      { start: false },
    )
  })
  after(async () => {
    await byHand.stop()
    await gw.close()
  })

  test('GET /api/v1/bundles: registered ones as before (managed ones with `managed`), then installed ones', async () => {
    await untilState(gw, 'alpha', 'running')
    const list = (await api(gw, 'GET', '/bundles', readToken)).body as ManagedBundleView[]
    const hand = list.find((b) => b.name === 'byhand')
    assert.ok(hand, 'a bundle started by hand is still listed')
    assert.equal(hand.managed, undefined)
    assert.equal(hand.online, true)
    const alpha = list.find((b) => b.name === 'alpha')
    assert.equal(alpha?.online, true)
    assert.equal(alpha?.managed?.state, 'running')
    assert.equal(alpha?.managed?.version, '1.0.0')
    assert.ok((alpha?.managed?.pid ?? 0) > 0)
    assert.deepEqual(
      alpha?.resources.map((r) => r.resource),
      ['/alpha'],
    )
    const idle = list.find((b) => b.name === 'idle')
    assert.ok(idle, 'an installed bundle that is not registered is listed too')
    assert.equal(idle.online, false)
    assert.equal(idle.registeredAt, null)
    assert.deepEqual(idle.resources, [])
    assert.equal(idle.managed?.state, 'installed')
    assert.ok(
      list.indexOf(idle) > list.indexOf(alpha as ManagedBundleView),
      'unregistered ones come after the registered ones',
    )
  })

  test('GET /api/v1/bundles/<name>: a registered or installed one; unknown 404 GW_ERR_MANAGER_NOT_FOUND', async () => {
    assert.equal((await api(gw, 'GET', '/bundles/byhand', readToken)).body.name, 'byhand')
    assert.equal((await api(gw, 'GET', '/bundles/idle', readToken)).body.managed.state, 'installed')
    const missing = await api(gw, 'GET', '/bundles/nosuch', readToken)
    assert.equal(missing.status, 404)
    assert.equal(missing.body.code, 'GW_ERR_MANAGER_NOT_FOUND')
    for (const [method, path] of [
      ['POST', '/bundles/nosuch/start'],
      ['POST', '/bundles/nosuch/rollback'],
      ['DELETE', '/bundles/nosuch'],
      ['GET', '/bundles/nosuch/logs'],
    ] as const) {
      const r = await api(gw, method, path)
      assert.equal(r.status, 404, `${method} ${path}`)
      assert.equal(r.body.code, 'GW_ERR_MANAGER_NOT_FOUND', `${method} ${path}`)
    }
  })

  test('control, uninstall and logs are admin only [HA-5]; a read token gets 403 and changes nothing', async () => {
    for (const [method, path] of [
      ['POST', '/bundles/alpha/stop'],
      ['POST', '/bundles/alpha/disable'],
      ['DELETE', '/bundles/alpha'],
      ['GET', '/bundles/alpha/logs'],
      ['POST', '/bundles'],
    ] as const) {
      const r = await api(gw, method, path, readToken)
      assert.equal(r.status, 403, `${method} ${path}`)
      assert.equal(r.body.code, 'GW_ERR_SCOPE')
    }
    assert.equal(gw.manager.get('alpha')?.state, 'running')
    assert.equal(gw.manager.get('alpha')?.enabled, true)
  })

  test('[HA-15] a stopped bundle: its resource answers 503 at once with the body; started again it answers', async () => {
    await untilState(gw, 'alpha', 'running')
    assert.equal((await api(gw, 'GET', '/alpha', readToken)).status, 200)
    const stopped = await api(gw, 'POST', '/bundles/alpha/stop')
    assert.equal(stopped.status, 200)
    assert.equal(stopped.body.managed.state, 'stopped')
    const r = await api(gw, 'GET', '/alpha', readToken)
    assert.equal(r.status, 503)
    assert.deepEqual(r.body, {
      message: "bundle 'alpha' is stopped",
      code: 'GW_ERR_MANAGER_BUNDLE_UNAVAILABLE',
      bundle: 'alpha',
      state: 'stopped',
      nextRetryAt: null,
    })
    assert.equal(r.headers.get('retry-after'), null, 'no next start, no Retry-After')
    // authentication still comes first
    assert.equal((await api(gw, 'GET', '/alpha', null)).status, 401)
    assert.equal((await api(gw, 'GET', '/alpha', 'bgt_nonsense')).status, 401)
    // a resource of nobody is still the controller's 404, a bundle started by hand still answers
    assert.equal((await api(gw, 'GET', '/nobody', readToken)).status, 404)
    assert.equal((await api(gw, 'GET', '/byhand', readToken)).status, 200)
    const started = await api(gw, 'POST', '/bundles/alpha/start')
    assert.equal(started.status, 200)
    await untilState(gw, 'alpha', 'running')
    const again = await api(gw, 'GET', '/alpha', readToken)
    assert.equal(again.status, 200)
    assert.equal(again.body.name, 'alpha')
  })

  test('[HA-15] a bundle that exits at once: backoff, its resource 503 with Retry-After; the idle one 503 too', async () => {
    await gw.manager.installDirectory(
      await writeBundle(parent, { name: 'crasher', behaviour: 'exit', lang: 'js' }),
    )
    const view = await untilState(gw, 'crasher', 'backoff')
    assert.ok(view.managed?.nextRetryAt)
    assert.equal(view.managed?.lastExit?.code, 3)
    const r = await api(gw, 'GET', '/crasher', readToken)
    assert.equal(r.status, 503)
    assert.equal(r.body.code, 'GW_ERR_MANAGER_BUNDLE_UNAVAILABLE')
    assert.equal(r.body.state, 'backoff')
    assert.equal(r.body.nextRetryAt, view.managed?.nextRetryAt)
    const retry = Number(r.headers.get('retry-after'))
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 30, `Retry-After ${retry}`)
    assert.match(r.body.message, /^bundle 'crasher' is backoff; next start at /)
    const idle = await api(gw, 'GET', '/idle', readToken)
    assert.equal(idle.status, 503)
    assert.equal(idle.body.state, 'installed')
    // its log has the line it printed on stderr
    const logs = await api(gw, 'GET', '/bundles/crasher/logs?tail=50')
    assert.ok(
      logs.body.lines.some(
        (l: { stream: string; line: string }) =>
          l.stream === 'stderr' && l.line.includes('giving up at once'),
      ),
      JSON.stringify(logs.body),
    )
    assert.equal((await api(gw, 'DELETE', '/bundles/crasher')).status, 204)
    assert.equal((await api(gw, 'GET', '/crasher', readToken)).status, 404, 'uninstalled: nobody provides it')
  })

  test('logs: the tail as JSON and as a text download; a bad tail is a 400', async () => {
    await untilState(gw, 'alpha', 'running')
    await api(gw, 'GET', '/alpha', readToken)
    const r = await api(gw, 'GET', '/bundles/alpha/logs?tail=1000')
    assert.equal(r.status, 200)
    assert.equal(typeof r.body.dropped, 'number')
    const lines = r.body.lines as Array<{ at: string; stream: string; line: string }>
    assert.ok(
      lines.some((l) => l.stream === 'stdout' && l.line === 'alpha starting'),
      JSON.stringify(lines),
    )
    for (const l of lines) assert.ok(!Number.isNaN(Date.parse(l.at)))
    const two = await api(gw, 'GET', '/bundles/alpha/logs?tail=2')
    assert.ok(two.body.lines.length <= 2)
    const text = await fetch(`${gw.httpUrl}/api/v1/bundles/alpha/logs?tail=1000&format=text`, {
      headers: { 'mx-api-token': gw.rootToken },
    })
    assert.equal(text.status, 200)
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/)
    assert.match(text.headers.get('content-disposition') ?? '', /attachment; filename="alpha\.log"/)
    assert.match(await text.text(), /^\S+Z stdout alpha starting$/m)
    for (const bad of ['-1', 'x', '10001', '1e3'])
      assert.equal((await api(gw, 'GET', `/bundles/alpha/logs?tail=${bad}`)).status, 400, bad)
  })

  test('logs follow: the tail, then live lines as events `log`; closed when the client goes', async () => {
    await untilState(gw, 'alpha', 'running')
    const sse = await openSse(`${gw.httpUrl}/api/v1/bundles/alpha/logs?tail=5&follow=true`, {
      'mx-api-token': gw.rootToken,
    })
    try {
      assert.equal(sse.status, 200)
      assert.match(String(sse.headers['content-type']), /^text\/event-stream/)
      await waitFor(() => sse.messages.length > 0, 5000, 'the tail')
      const before = sse.messages.length
      assert.ok(before <= 5)
      const r = await api(gw, 'GET', '/alpha', readToken)
      assert.equal(r.status, 200)
      await waitFor(
        () => sse.messages.slice(before).some((m) => m.event === 'log' && /"line":"served \d+"/.test(m.data)),
        5000,
        'the live line of the request',
      )
      for (const m of sse.messages) {
        assert.equal(m.event, 'log')
        const l = JSON.parse(m.data) as { at: string; stream: string; line: string }
        assert.ok(['stdout', 'stderr', 'manager'].includes(l.stream))
      }
    } finally {
      sse.close()
    }
  })

  test('state changes reach the push channel on /bundles/<name> (SSE) for stop and start', async () => {
    await untilState(gw, 'alpha', 'running')
    const sse = await openSse(
      `${gw.httpUrl}/api/v1/events?resource=${encodeURIComponent('/bundles/alpha')}`,
      {
        'mx-api-token': readToken,
      },
    )
    try {
      assert.equal(sse.status, 200)
      await api(gw, 'POST', '/bundles/alpha/stop')
      await api(gw, 'POST', '/bundles/alpha/start')
      await untilState(gw, 'alpha', 'running')
      const states = () =>
        sse
          .events()
          .filter((e) => (e.data as { change?: string }).change === 'state')
          .map(
            (e) =>
              e.data as { name: string; state: string; previousState: string; managed: { state: string } },
          )
      await waitFor(() => states().some((s) => s.state === 'running'), 10_000, 'the running event')
      const seen = states()
      for (const s of seen) {
        assert.equal(s.name, 'alpha')
        assert.equal(s.managed.state, s.state)
      }
      const order = seen.map((s) => s.state)
      assert.ok(order.indexOf('stopped') !== -1, order.join(','))
      assert.ok(order.indexOf('stopped') < order.lastIndexOf('running'), order.join(','))
      const ev = sse.events().find((e) => (e.data as { change?: string }).change === 'state')
      assert.equal(ev?.resource, '/bundles/alpha')
      assert.equal(ev?.method, 'put')
    } finally {
      sse.close()
    }
  })

  test('uninstall: 204, its token revoked, its routes gone; the list no longer has it', async () => {
    await gw.manager.installDirectory(
      await writeBundle(parent, { name: 'gone', behaviour: 'chatty', lang: 'js' }),
    )
    await untilState(gw, 'gone', 'running')
    const served = await api(gw, 'GET', '/gone', readToken)
    const token = served.body.token as string
    assert.match(token, /^bgt_/)
    assert.equal(
      (await api(gw, 'GET', '/bundles', token)).status,
      200,
      'the bundle token works while installed',
    )
    assert.equal((await api(gw, 'DELETE', '/bundles/gone?purge=true')).status, 204)
    const denied = await api(gw, 'GET', '/bundles', token)
    assert.equal(denied.status, 401)
    assert.equal(denied.body.code, 'GW_ERR_AUTH_INVALID')
    // the controller may still list its registration for a while (offline), never as managed
    const one = await api(gw, 'GET', '/bundles/gone')
    assert.ok(
      one.status === 404 || (one.status === 200 && one.body.managed === undefined),
      JSON.stringify(one.body),
    )
    const list = (await api(gw, 'GET', '/bundles')).body as ManagedBundleView[]
    assert.ok(!list.some((b) => b.name === 'gone' && b.managed))
    assert.equal(gw.manager.get('gone'), undefined)
  })

  test('POST /api/v1/bundles: not gzip 415; a declared length over the cap 413 before reading; bad query 400', async () => {
    const post = (headers: Record<string, string>, body: string | Buffer, query = '') =>
      fetch(`${gw.httpUrl}/api/v1/bundles${query}`, {
        method: 'POST',
        headers: { 'mx-api-token': gw.rootToken, ...headers },
        body,
      })
    const json = await post({ 'content-type': 'application/json' }, '{}')
    assert.equal(json.status, 415)
    assert.equal(((await json.json()) as { code: string }).code, 'GW_ERR_MANAGER_MEDIA_TYPE')
    const text = await post({ 'content-type': 'text/plain' }, 'x')
    assert.equal(text.status, 415)
    assert.equal(((await text.json()) as { code: string }).code, 'GW_ERR_MANAGER_MEDIA_TYPE')
    // a declared length over the cap: answered before the body is sent (raw HTTP: fetch checks the length itself)
    const big = await rawAnswer(
      gw,
      `POST /api/v1/bundles HTTP/1.1\r\nHost: 127.0.0.1\r\nmx-api-token: ${gw.rootToken}\r\ncontent-type: application/gzip\r\ncontent-length: ${gw.config.manager.uploadMaxBytes + 1}\r\n\r\n`,
    )
    assert.match(big, /^HTTP\/1\.1 413 /)
    assert.match(big, /"code":"GW_ERR_MANAGER_TARBALL_TOO_LARGE"/)
    assert.match(big, /connection: close/i)
    const q = await post({ 'content-type': 'application/gzip' }, Buffer.alloc(0), '?start=maybe')
    assert.equal(q.status, 400)
  })

  test('OpenAPI: the manager routes are in /api/v1/openapi.json', async () => {
    const doc = (await api(gw, 'GET', '/openapi.json', readToken)).body as {
      paths: Record<string, Record<string, { summary: string }>>
    }
    assert.ok(doc.paths['/api/v1/bundles']?.post, 'install')
    assert.match(doc.paths['/api/v1/bundles']?.get?.summary ?? '', /installed/)
    assert.ok(doc.paths['/api/v1/bundles/{name}']?.get)
    assert.ok(doc.paths['/api/v1/bundles/{name}']?.delete)
    assert.ok(doc.paths['/api/v1/bundles/{name}/logs']?.get)
    for (const verb of ['start', 'stop', 'restart', 'enable', 'disable', 'rollback'])
      assert.ok(doc.paths[`/api/v1/bundles/{name}/${verb}`]?.post, verb)
  })
})
