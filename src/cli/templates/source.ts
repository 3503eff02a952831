import type { TemplateContext } from './context.ts'

/** <name>-bundle.ts: the bundle class (imported by the entry and by the test). */
export function bundleClass(ctx: TemplateContext): string {
  const { name, className } = ctx
  return `import { Bundle, type ConfigStore, type JsonObject, type RequestMessage, route } from 'bundlegate'

/**
 * GET /${name} answers the stored object; PUT /${name} replaces it and saves it in data/${name}.json (created from
 * data/${name}.json.factory on first start; saves are atomic).
 */
export class ${className} extends Bundle {
  model!: ConfigStore<JsonObject>

  override async init() {
    this.model = await this.openStore<JsonObject>('${name}')
  }

  @route({ resource: '/${name}', methods: 'get' })
  get() {
    return this.model.data
  }

  @route({ resource: '/${name}', methods: 'put', schema: { type: 'object' } })
  async put(message: RequestMessage) {
    await this.model.replace(message.data as JsonObject)
    return this.model.data
  }
}
`
}

/** index.ts: the entry point (bundle.json \`main\`), run by \`npm start\` (\`bundlegate run .\`). */
export function entry(ctx: TemplateContext): string {
  return `import { ${ctx.className} } from './${ctx.name}-bundle.ts'

await new ${ctx.className}({ dir: import.meta.dirname }).start()
`
}

/** <name>.test.ts: the bundle's own test, on an in-process test gateway. */
export function bundleTest(ctx: TemplateContext): string {
  const { name, className } = ctx
  return `import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { startTestGateway, type TestGateway } from 'bundlegate/testing'
import { ${className} } from './${name}-bundle.ts'

// An in-process gateway (broker, controller, web service) on free ports; the bundle runs in a temp copy of this
// directory, so every run starts from data/${name}.json.factory and your own data files are never touched.
let gw: TestGateway
let bundle: ${className}

before(async () => {
  gw = await startTestGateway()
  bundle = await gw.startBundle(new ${className}({ dir: import.meta.dirname }))
})

after(() => gw.close())

test('GET /${name} answers the factory data', async () => {
  const res = await gw.request('GET', '/${name}')
  assert.equal(res.status, 200)
  assert.deepEqual(res.body, { key: 'value' })
})

test('PUT /${name} replaces the data and saves it', async () => {
  const res = await gw.request('PUT', '/${name}', { key: 'changed' })
  assert.equal(res.status, 200)
  assert.deepEqual(res.body, { key: 'changed' })
  assert.deepEqual((await gw.request('GET', '/${name}')).body, { key: 'changed' })
  const saved = JSON.parse(await readFile(join(bundle.dir, 'data', '${name}.json'), 'utf8'))
  assert.deepEqual(saved, { key: 'changed' })
})

test('PUT /${name} with a body that is not an object answers 400', async () => {
  const res = await gw.request('PUT', '/${name}', ['not', 'an', 'object'])
  assert.equal(res.status, 400)
})

test('a read token may GET but not PUT', async () => {
  const token = await gw.createToken('read')
  assert.equal((await gw.request('GET', '/${name}', undefined, { token })).status, 200)
  assert.equal((await gw.request('PUT', '/${name}', { key: 'x' }, { token })).status, 403)
})
`
}
