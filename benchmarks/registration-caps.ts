/**
 * What the registration bounds cost at their defaults (issue 12): fills the registry of an in-process gateway to
 * `controller.maxComponents` / `controller.maxResources` from as many clients as `maxComponentsPerClient` needs, and
 * prints RSS before and after, and the size and build time of openapi.json. docs/reliability.md quotes the numbers.
 *
 *   node --conditions=bundlegate-dev --import tsx benchmarks/registration-caps.ts [resourcesPerComponent]
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { DEFAULTS, loadConfig } from '../src/config/index.ts'
import { startGateway } from '../src/server.ts'

const perComponent = Number(process.argv[2] ?? 8)
const dir = await mkdtemp(join(tmpdir(), 'bg-caps-'))
const config = await loadConfig({
  env: {},
  flags: {
    broker: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    data: { dir, tokenFile: join(dir, 'mx-api-token') },
    log: { level: 'silent' },
  },
})
const gw = await startGateway(config)
const c = DEFAULTS.controller
const components = Math.min(c.maxComponents, Math.floor(c.maxResources / perComponent))
const clients = Math.ceil(components / c.maxComponentsPerClient)
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`
global.gc?.()
const rssBefore = process.memoryUsage().rss
async function fill(k: number, want: number): Promise<void> {
  const client = await mqtt.connectAsync(gw.brokerUrl, { clientId: `caps-${k}`, protocolVersion: 4 })
  const tunnel = randomBytes(16).toString('hex')
  await client.subscribeAsync(tunnel, { qos: 1 })
  let answered = 0
  const done = new Promise<void>((resolve) =>
    client.on('message', () => {
      if (++answered === want) resolve()
    }),
  )
  for (let i = 0; i < want; i++) {
    // one at a time within the bucket: burst, then the refill rate
    if (i >= c.registrationBurst) await new Promise((r) => setTimeout(r, 1000 / c.registrationsPerSec + 5))
    const name = `caps-${k}-${i}`
    const resources = Array.from({ length: perComponent }, (_, r) =>
      `/${name}/item${r}/:id`.replace(':id', '+'),
    )
    await client.publishAsync(
      '/controller',
      JSON.stringify({
        id: k * 1000 + i + 1,
        method: 'post',
        resource: `/controller/registration/${name}`,
        tunnel,
        data: { description: name, role: 'model', ttl: 5, resources },
      }),
      { qos: 1 },
    )
  }
  await done
}
await Promise.all(
  Array.from({ length: clients }, (_, k) =>
    fill(k, Math.min(c.maxComponentsPerClient, components - k * c.maxComponentsPerClient)),
  ),
)
const held = gw.controller.core.components().length - 2
const token = (await readFile(gw.tokenFile ?? '', 'utf8')).trim()
const started = performance.now()
const res = await fetch(`${gw.httpUrl}/api/v1/openapi.json`, { headers: { 'mx-api-token': token } })
const body = await res.text()
const buildMs = performance.now() - started
global.gc?.()
const rssAfter = process.memoryUsage().rss
console.log(
  JSON.stringify({
    components: held,
    resources: held * perComponent,
    clients,
    rssBefore: mb(rssBefore),
    rssAfter: mb(rssAfter),
    openapiBytes: body.length,
    openapiSize: mb(body.length),
    openapiFirstBuildMs: Math.round(buildMs),
  }),
)
await gw.close()
await rm(dir, { recursive: true, force: true })
process.exit(0)
