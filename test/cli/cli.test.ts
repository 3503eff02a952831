import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { runCli } from '../helpers/cli.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

const run = runCli

describe('bundlegate CLI', () => {
  test('usage: no command prints help (exit 1); unknown command or option exits 2 with a clear message', async () => {
    const none = await run([])
    assert.equal(none.code, 1)
    assert.match(none.stdout, /Usage: bundlegate <command>/)
    assert.equal((await run(['help'])).code, 0)
    const unknown = await run(['frobnicate'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /unknown command "frobnicate"/)
    const badOption = await run(['start', '--bogus'])
    assert.equal(badOption.code, 2)
    assert.match(badOption.stderr, /Unknown option '--bogus'.*GW_ERR_CLI_USAGE/)
    assert.equal((await run(['request', 'GET'])).code, 2)
    assert.match((await run(['request', 'GET', 'example'])).stderr, /resource must start with "\/"/)
    assert.match((await run(['request', 'PUT', '/x', '--data', '{bad'])).stderr, /--data is not JSON/)
    assert.match((await run(['start', '--help'])).stdout, /--broker-url/)
    const badConfig = await run(['start', '--mode', 'chaos'])
    assert.equal(badConfig.code, 1)
    assert.match(badConfig.stderr, /controller\.mode.*GW_ERR_CONFIG_INVALID/)
  })

  test('request: prints the answer; exit 0 below 400, 1 otherwise', async (t) => {
    const defer = lifo(t)
    const gw = await startTestGateway()
    defer(() => gw.close())
    const bundle = createBundle({
      manifest: {
        name: 'clitest',
        version: '1',
        description: 'd',
        role: 'model',
        ttl: 5,
        resources: [{ resource: '/cli/:x' }],
      },
      brokerUrl: gw.brokerUrl,
      logger: silentLogger(),
      signals: false,
    })
    bundle.get('/cli/:x', (m) => ({ x: m.param.x ?? null }))
    bundle.put('/cli/:x', (m) => ({ got: m.data ?? null }))
    await bundle.start()
    defer(() => bundle.stop())
    const ok = await run(['request', 'GET', '/cli/7', '--broker', gw.brokerUrl])
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /^200 GET \/cli\/7\n/)
    assert.deepEqual(JSON.parse(ok.stdout.slice(ok.stdout.indexOf('\n') + 1)), { x: '7' })
    const put = await run(['request', 'put', '/cli/7', '--data', '{"a":1}', '--broker', gw.brokerUrl])
    assert.deepEqual(JSON.parse(put.stdout.slice(put.stdout.indexOf('\n') + 1)), { got: { a: 1 } })
    const missing = await run(['request', 'GET', '/nothing', '--broker', gw.brokerUrl])
    assert.equal(missing.code, 1)
    assert.match(missing.stdout, /^404 GET \/nothing/)
    const noBroker = await run(['request', 'GET', '/x', '--broker', 'mqtt://127.0.0.1:1', '--timeout', '500'])
    assert.equal(noBroker.code, 1)
    assert.match(noBroker.stderr, /GW_ERR_BROKER_CONNECT/)
  })

  for (const brokerAuth of ['auto', 'on'] as const)
    test(`start --example (broker auth ${brokerAuth}) runs broker, controller and the example bundle; SIGTERM stops everything with exit 0`, async (t) => {
      const defer = lifo(t)
      const dir = await mkdtemp(join(tmpdir(), 'bg-cli-'))
      defer(() => rm(dir, { recursive: true, force: true }))
      await cp(join(root, 'examples/example/bundle.json'), join(dir, 'bundle.json'))
      await cp(
        join(root, 'examples/example/data/example.json.factory'),
        join(dir, 'data/example.json.factory'),
        {
          recursive: true,
        },
      )
      const started = Date.now()
      const child = spawn(
        process.execPath,
        [
          '--conditions=bundlegate-dev',
          '--import',
          'tsx',
          'src/cli/bin.ts',
          'start',
          '--example',
          '--broker-port',
          '0',
          '--http-port',
          '0',
          '--data-dir',
          join(dir, 'state'),
          '--token-file',
          join(dir, 'state', 'mx-api-token'),
        ],
        {
          cwd: root,
          env: { ...process.env, BUNDLE_DIR: dir, LOG_LEVEL: 'warn', BUNDLEGATE_BROKER_AUTH: brokerAuth },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let output = ''
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString()
      })
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString()
      })
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      defer(() => {
        if (child.exitCode === null) child.kill('SIGKILL')
      })
      await waitFor(
        () => /example {5}registered/.test(output),
        20_000,
        `the example to register; output so far:\n${output}`,
      )
      t.diagnostic(`start --example to registered: ${Date.now() - started} ms (tsx from source)`)
      // the first start shows the console's initial password on its banner, once
      assert.match(
        output,
        /console {5}http:\/\/\S+\/ \(log in as admin, initial password \S{10,}: shown this once\)/,
      )
      const url = /broker {6}(mqtt:\/\/\S+)/.exec(output)?.[1]
      assert.ok(url, output)
      const get = await run(['request', 'GET', '/example', '--broker', url])
      if (brokerAuth === 'on') {
        // an unauthenticated MQTT client is refused; the example got its own credential (docs/security.md)
        assert.equal(get.code, 1)
      } else {
        assert.equal(get.code, 0, get.stderr)
        assert.deepEqual(JSON.parse(get.stdout.slice(get.stdout.indexOf('\n') + 1)), { key: 'value' })
      }
      const web = /web service (http:\/\/\S+)\/api\/v1/.exec(output)?.[1]
      const token = (await readFile(join(dir, 'state', 'mx-api-token'), 'utf8')).trim()
      const http = await fetch(`${web}/api/v1/example`, { headers: { 'mx-api-token': token } })
      assert.equal(http.status, 200)
      assert.deepEqual(await http.json(), { key: 'value' })
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
      assert.match(output, /stopping/)
    })
})
