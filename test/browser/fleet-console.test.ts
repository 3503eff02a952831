/**
 * The console's Fleet page in chromium (issue 18): a hub and gateway cg-a in-process over a real mosquitto; the hub's
 * console lists cg-a with its resource, and the resource's link opens the API explorer on `/cg-a/…`, whose Send
 * reaches cg-a's bundle through the hub.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { eventually, memberFleet, startCentral } from '../fleet/fleet-harness.ts'
import { BROWSER_ARTIFACTS, CHROMIUM, launchChromium } from '../helpers/browser.ts'
import { lifo, logSink, startTestGateway } from '../helpers/gateway.ts'
import { findMosquitto } from '../helpers/processes.ts'
import { dataOf, RawBundle } from '../helpers/raw-bundle.ts'

const ARTIFACTS = BROWSER_ARTIFACTS
const skip =
  !existsSync(CHROMIUM) || findMosquitto() === undefined ? 'chromium or mosquitto is missing' : false

test('console Fleet page: the hub lists cg-a; a resource opens the explorer on /cg-a/… and Send reaches it [WP-69]', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const defer = lifo(t)
  const central = await startCentral()
  assert.ok(central)
  defer(() => central.close())
  const fleet = (id: 'cg-a' | 'cg-hub', trust: string) => memberFleet(central, id, { trust })
  const a = await startTestGateway({ fleet: fleet('cg-a', 'cg-hub=readwrite') })
  defer(() => a.close())
  const bundle = await RawBundle.connect(a, undefined)
  defer(() => bundle.client.endAsync())
  const reg = await bundle.register('thing', 'model', ['/thing'])
  bundle.serve(String(dataOf(reg).tunnel), 'thing', { answeredBy: 'cg-a' })
  const sink = logSink('info')
  const hub = await startTestGateway({ fleet: { ...fleet('cg-hub', ''), hub: true } }, sink.logger)
  defer(() => hub.close())
  const created = sink.lines.find((l) => String(l.msg).includes('created with the initial password'))
  const initial = /initial password (\S+)/.exec(String(created?.msg ?? ''))?.[1]
  assert.ok(initial)
  await eventually(async () => hub.fleet?.directory.view('cg-a')?.bundles.length === 1, 10_000, 'cg-a listed')

  await mkdir(ARTIFACTS, { recursive: true })
  const profile = await mkdtemp(join(tmpdir(), 'bg-chromium-'))
  defer(() => rm(profile, { recursive: true, force: true }))
  const context = await launchChromium(profile)
  defer(() => context.close())
  const page = context.pages()[0] ?? (await context.newPage())
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))

  await page.goto(`${hub.httpUrl}/`)
  await page.getByLabel('Username').fill('admin')
  await page.getByLabel('Password').fill(initial)
  await page.getByRole('button', { name: 'Log in' }).click()
  const chosen = 'correct horse battery staple'
  await page.getByLabel('Initial password').fill(initial)
  await page.getByLabel('New password', { exact: true }).fill(chosen)
  await page.getByLabel('Repeat the new password').fill(chosen)
  await page.getByRole('button', { name: 'Change password' }).click()
  await page.locator('a[data-page="fleet"]').click()
  const card = page.locator('[data-gateway="cg-a"]')
  await card.waitFor()
  assert.match(String(await card.textContent()), /Online/)
  assert.match(
    String(await page.locator('main').textContent()),
    /This gateway: cg-hub \(hub\), uplink connected/,
  )
  await page.screenshot({ path: join(ARTIFACTS, 'fleet-1280.png'), fullPage: true })
  await card.getByRole('link', { name: '/thing' }).click()
  await page.getByRole('heading', { name: 'API explorer' }).waitFor()
  assert.equal(await page.locator('#ex-path').inputValue(), '/cg-a/thing')
  await page.getByRole('button', { name: 'Send' }).click()
  await page.getByText('answeredBy').waitFor()
  assert.match(String(await page.locator('.result').textContent()), /200/)
  assert.deepEqual(problems, [])
})
