/**
 * The web service built without a bundle manager (docs/manager.md "HTTP API and CLI"): the manager's routes are
 * absent, `GET /api/v1/bundles` is the plain list, and the OpenAPI document does not offer what is not served.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ControllerCore } from '../../src/controller/index.ts'
import { silentLogger } from '../../src/logger.ts'
import { TokenStore } from '../../src/tokens/index.ts'
import { buildWebService } from '../../src/web/index.ts'
import { lifo } from '../helpers/gateway.ts'

test('without a manager: no install, control or logs routes; GET /api/v1/bundles as before', async (t) => {
  const defer = lifo(t)
  const dir = await mkdtemp(join(tmpdir(), 'bg-nomgr-'))
  defer(() => rm(dir, { recursive: true, force: true }))
  const tokens = TokenStore.open(dir, { logger: silentLogger() })
  defer(() => tokens.close())
  const core = new ControllerCore({ publish() {} }, { logger: silentLogger() })
  defer(() => core.close())
  const app = buildWebService({ core, tokens, logger: silentLogger(), ready: () => undefined })
  defer(() => app.close())
  const admin = tokens.create({ description: 'admin', scope: 'admin', root: true }).secret
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string) =>
    app.inject({ method, url, headers: { 'mx-api-token': admin } })
  const list = await call('GET', '/api/v1/bundles')
  assert.equal(list.statusCode, 200)
  assert.deepEqual(list.json(), [])
  for (const [method, url] of [
    ['GET', '/api/v1/bundles/x'],
    ['POST', '/api/v1/bundles/x/start'],
    ['DELETE', '/api/v1/bundles/x'],
    ['GET', '/api/v1/bundles/x/logs'],
  ] as const) {
    const r = await call(method, url)
    // a gateway path is never forwarded to a bundle ([HA-11]): 405 as before the manager existed
    assert.equal(r.statusCode, 405, `${method} ${url}`)
    assert.equal(r.json().code, 'GW_ERR_METHOD_NOT_ALLOWED')
  }
  const doc = (await call('GET', '/api/v1/openapi.json')).json() as { paths: Record<string, object> }
  assert.deepEqual(Object.keys(doc.paths['/api/v1/bundles'] ?? {}), ['get'])
  assert.equal(doc.paths['/api/v1/bundles/{name}/logs'], undefined)
})
