import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { resolveBaseUrl, resolveToken } from '../../src/cli/web-client.ts'
import { silentLogger } from '../../src/logger.ts'
import { createBundle, type FunctionalBundle } from '../../src/sdk/index.ts'
import { runCli } from '../helpers/cli.ts'
import { startTestGateway } from '../helpers/gateway.ts'
import { freePort } from '../helpers/processes.ts'

const cli = runCli

/** The JSON after the status line. */
function bodyOf(stdout: string): unknown {
  return JSON.parse(stdout.slice(stdout.indexOf('\n') + 1))
}

/** Runs `fn` with BUNDLEGATE_TOKEN set (or removed, for undefined), then restores it. */
async function withTokenEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.BUNDLEGATE_TOKEN
  if (value === undefined) delete process.env.BUNDLEGATE_TOKEN
  else process.env.BUNDLEGATE_TOKEN = value
  try {
    return await fn()
  } finally {
    if (saved === undefined) delete process.env.BUNDLEGATE_TOKEN
    else process.env.BUNDLEGATE_TOKEN = saved
  }
}

describe('bundlegate call and bundles', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>
  let bundle: FunctionalBundle
  let dir: string
  let url: string
  let root: string
  let readToken: string

  before(async () => {
    gw = await startTestGateway()
    url = gw.httpUrl
    root = gw.rootToken
    dir = await mkdtemp(join(tmpdir(), 'bg-call-'))
    let stored: unknown = { key: 'value' }
    bundle = createBundle({
      manifest: {
        name: 'calltest',
        version: '1.0.0',
        description: 'call test',
        role: 'model',
        ttl: 5,
        resources: [
          { resource: '/calltest', methods: ['get', 'put'] },
          { resource: '/calltest/:id', methods: ['delete'] },
        ],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/calltest', (m) => ({ stored: stored as null, query: m.query }))
    bundle.put('/calltest', (m) => {
      stored = m.data ?? null
      return { stored: stored as null }
    })
    bundle.delete('/calltest/:id', (_m, respond) => respond({ code: 204 }))
    await bundle.start()
    const made = await cli([
      'call',
      'POST',
      '/tokens',
      '--data',
      '{"description":"reader","scope":"read"}',
      '--token',
      root,
      '--url',
      url,
      '--json',
    ])
    assert.equal(made.code, 0, made.stdout + made.stderr)
    readToken = (JSON.parse(made.stdout) as { token: string }).token
  })

  after(async () => {
    await bundle?.stop()
    await gw?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  test('GET prints "200 OK" and the pretty JSON; the query is passed on; --json prints only the body', async () => {
    const r = await cli(['call', 'GET', '/calltest?x=1', '--token', root, '--url', url])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^200 OK\n\{\n {2}"stored": \{\n/)
    assert.deepEqual(bodyOf(r.stdout), { stored: { key: 'value' }, query: { x: '1' } })
    const j = await cli(['call', 'get', '/calltest', '--token', root, '--url', url, '--json'])
    assert.equal(j.code, 0)
    assert.deepEqual(JSON.parse(j.stdout), { stored: { key: 'value' }, query: {} })
    // the address as `bundlegate start` prints it, /api/v1 included, works too
    const v1 = await cli(['call', 'GET', '/calltest', '--token', root, '--url', `${url}/api/v1/`])
    assert.equal(v1.code, 0, v1.stdout + v1.stderr)
  })

  test('PUT with --data JSON and --data @file; DELETE answered 204 prints the status only', async () => {
    const put = await cli([
      'call',
      'PUT',
      '/calltest',
      '--data',
      '{"key":"v2"}',
      '--token',
      root,
      '--url',
      url,
    ])
    assert.equal(put.code, 0, put.stdout + put.stderr)
    assert.deepEqual(bodyOf(put.stdout), { stored: { key: 'v2' } })
    const file = join(dir, 'body.json')
    await writeFile(file, '{ "key": "from a file", "n": [1, 2] }\n')
    const fromFile = await cli([
      'call',
      'PUT',
      '/calltest',
      '--data',
      `@${file}`,
      '--token',
      root,
      '--url',
      url,
    ])
    assert.equal(fromFile.code, 0, fromFile.stdout + fromFile.stderr)
    assert.deepEqual(bodyOf(fromFile.stdout), { stored: { key: 'from a file', n: [1, 2] } })
    const del = await cli(['call', 'DELETE', '/calltest/7', '--token', root, '--url', url])
    assert.equal(del.code, 0)
    assert.equal(del.stdout, '204 No Content\n')
  })

  test('the token from --token-file, from BUNDLEGATE_TOKEN; --token wins over both', async () => {
    const file = join(dir, 'token')
    await writeFile(file, `${root}\n`)
    const r = await cli(['call', 'GET', '/calltest', '--token-file', file, '--url', url])
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const env = await withTokenEnv(readToken, () => cli(['call', 'GET', '/calltest', '--url', url]))
    assert.equal(env.code, 0, env.stdout + env.stderr)
    // the env token is a read token: a PUT with it is refused, the same PUT with --token passes
    const refused = await withTokenEnv(readToken, () =>
      cli(['call', 'PUT', '/calltest', '--data', '{}', '--url', url]),
    )
    assert.equal(refused.code, 1)
    const wins = await withTokenEnv(readToken, () =>
      cli(['call', 'PUT', '/calltest', '--data', '{}', '--url', url, '--token', root]),
    )
    assert.equal(wins.code, 0, wins.stdout)
    const missing = await cli(['call', 'GET', '/calltest', '--token-file', join(dir, 'nope'), '--url', url])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /Root token file .*nope cannot be read: .*ENOENT.*\(GW_ERR_TOKEN_FILE\)/)
  })

  test('no token: 401 and exit 1; a read token on PUT: 403 and exit 1; unknown resource: 404', async () => {
    // No --token, no BUNDLEGATE_TOKEN: the default token files are tried (/etc/mx-api-token, ./data/mx-api-token);
    // on this machine they are absent, or belong to another gateway: 401 either way.
    const none = await withTokenEnv(undefined, () => cli(['call', 'GET', '/calltest', '--url', url]))
    assert.equal(none.code, 1)
    assert.match(none.stdout, /^401 Unauthorized\n/)
    assert.match((bodyOf(none.stdout) as { code: string }).code, /^GW_ERR_AUTH_(REQUIRED|INVALID)$/)
    const read = await cli([
      'call',
      'PUT',
      '/calltest',
      '--data',
      '{"a":1}',
      '--token',
      readToken,
      '--url',
      url,
    ])
    assert.equal(read.code, 1)
    assert.match(read.stdout, /^403 Forbidden\n/)
    assert.equal((bodyOf(read.stdout) as { code: string }).code, 'GW_ERR_SCOPE')
    const lost = await cli(['call', 'GET', '/nothing-here', '--token', root, '--url', url])
    assert.equal(lost.code, 1)
    assert.match(lost.stdout, /^404 Not Found\n/)
    assert.equal((bodyOf(lost.stdout) as { code: string }).code, 'GW_ERR_ROUTE_NOT_FOUND')
  })

  test('usage errors exit 2 before any request: invalid --data, unreadable @file, bad arguments', async () => {
    const bad = await cli(['call', 'PUT', '/calltest', '--data', '{bad', '--token', root, '--url', url])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--data is not JSON: .*\(GW_ERR_CLI_USAGE\)/)
    assert.equal(bad.stdout, '')
    const badFile = join(dir, 'bad.json')
    await writeFile(badFile, "{'single': 'quotes'}")
    assert.match(
      (await cli(['call', 'PUT', '/calltest', '--data', `@${badFile}`, '--url', url])).stderr,
      /--data file .*bad\.json is not JSON/,
    )
    const noFile = await cli([
      'call',
      'PUT',
      '/calltest',
      '--data',
      `@${join(dir, 'absent.json')}`,
      '--url',
      url,
    ])
    assert.equal(noFile.code, 2)
    assert.match(noFile.stderr, /cannot read --data file .*absent\.json/)
    assert.equal((await cli(['call', 'GET'])).code, 2)
    assert.match((await cli(['call', 'GET', 'calltest'])).stderr, /resource must start with "\/"/)
    assert.match(
      (await cli(['call', 'GET', '/x', '--url', 'ftp://127.0.0.1'])).stderr,
      /--url must be an http/,
    )
    assert.equal((await cli(['call', 'GET', '/x', '--timeout', 'soon'])).code, 2)
    assert.match((await cli(['call', '--help'])).stdout, /--data <json\|@file>/)
    assert.equal((await cli(['bundles', 'extra'])).code, 2)
  })

  test('an unreachable web service: GW_ERR_CLI_HTTP naming the URL, exit 1', async () => {
    const refused = `http://127.0.0.1:${await freePort()}`
    const r = await cli(['call', 'GET', '/calltest', '--token', root, '--url', refused])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    assert.match(
      r.stderr,
      new RegExp(`cannot reach the web service at ${refused}: connect ECONNREFUSED .*\\(GW_ERR_CLI_HTTP\\)`),
    )
    const port1 = await cli(['call', 'GET', '/calltest', '--token', root, '--url', 'http://127.0.0.1:1'])
    assert.equal(port1.code, 1)
    assert.match(
      port1.stderr,
      /cannot reach the web service at http:\/\/127\.0\.0\.1:1: .*\(GW_ERR_CLI_HTTP\)/,
    )
    const list = await cli(['bundles', '--token', root, '--url', refused])
    assert.equal(list.code, 1)
    assert.match(list.stderr, /GW_ERR_CLI_HTTP/)
  })

  test('bundles: a table (one line per extra resource), --json the API answer, 401 without a token', async () => {
    const table = await cli(['bundles', '--token', readToken, '--url', url])
    assert.equal(table.code, 0, table.stdout + table.stderr)
    const lines = table.stdout.trimEnd().split('\n')
    assert.match(lines[0] ?? '', /^NAME +ROLE +STATE +TTL +RESOURCES +REGISTERED$/)
    assert.match(
      lines[1] ?? '',
      /^calltest +model +online +5s +\/calltest get,put +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    )
    assert.match(lines[2] ?? '', /^ +\/calltest\/\+ delete$/)
    assert.equal(lines.length, 3)
    // columns line up under the header
    assert.equal(lines[1]?.indexOf('/calltest'), lines[0]?.indexOf('RESOURCES'))
    assert.equal(lines[2]?.indexOf('/calltest'), lines[0]?.indexOf('RESOURCES'))

    const json = await cli(['bundles', '--token', readToken, '--url', url, '--json'])
    assert.equal(json.code, 0)
    const list = JSON.parse(json.stdout) as Array<Record<string, unknown>>
    assert.equal(list.length, 1)
    assert.equal(list[0]?.name, 'calltest')
    assert.equal(list[0]?.online, true)
    assert.deepEqual(list[0]?.resources, [
      { resource: '/calltest', methods: ['get', 'put'] },
      { resource: '/calltest/+', methods: ['delete'] }, // registered in MQTT form
    ])

    const denied = await withTokenEnv(undefined, () => cli(['bundles', '--url', url]))
    assert.equal(denied.code, 1)
    assert.match(denied.stdout, /^401 Unauthorized\n/)
  })
})

describe('web-client: token and URL resolution', () => {
  test('--token, then --token-file, then BUNDLEGATE_TOKEN, then the first default file that can be read', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-tok-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    await writeFile(b, 'bgt_from_b\n')
    const defaults = [join(dir, 'missing'), a, b]
    assert.equal(await resolveToken({}, {}, defaults), 'bgt_from_b')
    await writeFile(a, '  bgt_from_a  \n')
    assert.equal(await resolveToken({}, {}, defaults), 'bgt_from_a')
    assert.equal(await resolveToken({}, { BUNDLEGATE_TOKEN: 'bgt_env' }, defaults), 'bgt_env')
    assert.equal(
      await resolveToken({ 'token-file': b }, { BUNDLEGATE_TOKEN: 'bgt_env' }, defaults),
      'bgt_from_b',
    )
    assert.equal(await resolveToken({ token: 'bgt_flag', 'token-file': b }, {}, defaults), 'bgt_flag')
    assert.equal(await resolveToken({}, {}, [join(dir, 'missing')]), undefined)
  })

  test('the base URL: --url, BUNDLEGATE_URL, the default; /api/v1 and trailing slashes dropped', () => {
    assert.equal(resolveBaseUrl(undefined, {}), 'http://127.0.0.1:8080')
    assert.equal(
      resolveBaseUrl(undefined, { BUNDLEGATE_URL: 'http://127.0.0.1:9000/' }),
      'http://127.0.0.1:9000',
    )
    assert.equal(resolveBaseUrl('http://127.0.0.1:8080/api/v1', {}), 'http://127.0.0.1:8080')
    assert.equal(resolveBaseUrl('https://127.0.0.1/gw/api/v1/', {}), 'https://127.0.0.1/gw')
    assert.throws(() => resolveBaseUrl('127.0.0.1:8080', {}), /GW_ERR_CLI_USAGE|http/)
  })
})
