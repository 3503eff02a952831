/**
 * The console's Bundles page with the bundle manager (issue 15 item 10), in a real chromium through playwright-core
 * against a real gateway on loopback: install the example bundle by uploading its .tar.gz in the page, see it reach
 * `running`, stop it with the page's button, see a stop and a start made elsewhere (the HTTP API) appear without a
 * reload (push channel), open the Logs view and see a live line arrive, uninstall it after the confirmation.
 * Screenshots go to test-artifacts/console/.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buffer } from 'node:stream/consumers'
import { test } from 'node:test'
import { packBundle } from '../../src/cli/pack-bundle.ts'
import { BROWSER_ARTIFACTS, chromiumSkip, launchChromium } from '../helpers/browser.ts'
import { lifo, logSink, startTestGateway } from '../helpers/gateway.ts'
import { REPO_ROOT } from '../helpers/processes.ts'

/** The little of the page's DOM the in-page predicates use (this project's tsconfig has no DOM lib). */
type Doc = {
  querySelector(s: string): { getAttribute(n: string): string | null } | null
  querySelectorAll(s: string): { length: number }
}
const ARTIFACTS = BROWSER_ARTIFACTS
const skip = chromiumSkip

test('console Bundles page: install a .tar.gz, running, stop, live state changes, live logs, uninstall', {
  skip,
  timeout: 240_000,
}, async (t) => {
  const defer = lifo(t)
  const sink = logSink('info')
  const gw = await startTestGateway({ manager: { memorySampleSec: 1 } }, sink.logger)
  defer(() => gw.close())
  const created = sink.lines.find((l) => String(l.msg).includes('created with the initial password'))
  const initial = /initial password (\S+)/.exec(String(created?.msg ?? ''))?.[1]
  assert.ok(initial, 'the first start logs the initial password')

  const work = await mkdtemp(join(tmpdir(), 'bg-console-mgr-'))
  defer(() => rm(work, { recursive: true, force: true }))
  const tarball = join(work, 'example.tar.gz')
  await writeFile(tarball, await buffer(await packBundle(join(REPO_ROOT, 'examples', 'example'))))

  await mkdir(ARTIFACTS, { recursive: true })
  const context = await launchChromium(join(work, 'profile'))
  defer(() => context.close())
  const page = context.pages()[0] ?? (await context.newPage())
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[013]/.test(msg.text()))
      problems.push(`console: ${msg.text()}`)
  })

  // log in, change the initial password: the Bundles page opens
  await page.goto(`${gw.httpUrl}/`)
  await page.getByLabel('Username').fill('admin')
  await page.getByLabel('Password').fill(initial)
  await page.getByRole('button', { name: 'Log in' }).click()
  const chosen = 'correct horse battery staple'
  await page.getByLabel('Initial password').fill(initial)
  await page.getByLabel('New password', { exact: true }).fill(chosen)
  await page.getByLabel('Repeat the new password').fill(chosen)
  await page.getByRole('button', { name: 'Change password' }).click()
  await page.getByRole('heading', { name: 'Bundles' }).waitFor()
  await page.getByText('Live', { exact: true }).waitFor()

  // 1. Install…: the upload goes as application/gzip; the card appears and reaches `running`
  const installStarted = Date.now()
  await page.locator('#install-file').setInputFiles(tarball)
  await page
    .getByText(/Installed example 0\.0\.1\./)
    .waitFor({ timeout: 30_000 })
    .catch(async (err: unknown) => {
      throw new Error(`${String(await page.locator('.messages').textContent())}: ${String(err)}`)
    })
  const card = page.locator('[data-bundle="example"]')
  await card.locator('[data-state="running"]').waitFor({ timeout: 60_000 })
  t.diagnostic(`install through the page → card shows running: ${Date.now() - installStarted} ms`)
  assert.match(String(await card.textContent()), /Online/)
  assert.match(String(await card.textContent()), /Version0\.0\.1/)
  // memory is sampled (here every second) and the page refreshes managed bundles every 10 s
  await card.getByText(/^\d+\.\d MiB$/).waitFor({ timeout: 30_000 })
  await page.screenshot({ path: join(ARTIFACTS, 'manager-1-running-1280.png'), fullPage: true })

  // 2. the page's Stop button: the state turns `stopped`
  await card.getByRole('button', { name: 'Stop example', exact: true }).click()
  await card.locator('[data-state="stopped"]').waitFor({ timeout: 30_000 })
  assert.equal(await card.getByRole('button', { name: 'Start example', exact: true }).isEnabled(), true)
  await page.screenshot({ path: join(ARTIFACTS, 'manager-2-stopped-1280.png'), fullPage: true })

  // 3. a start made elsewhere (the HTTP API with the root token) shows up live, without a reload or a click
  const api = (method: string, path: string) =>
    fetch(`${gw.httpUrl}/api/v1${path}`, { method, headers: { 'mx-api-token': gw.rootToken } })
  const liveFrom = Date.now()
  assert.equal((await api('POST', '/bundles/example/start')).status, 200)
  // the first render that shows it running: made by a push event, not by the page's 10-s refresh
  const shownBy = await page.waitForFunction(
    () => {
      const d = (globalThis as unknown as { document: Doc }).document
      return (
        d.querySelector('[data-bundle="example"] [data-state="running"]') &&
        d.querySelector('.bundles')?.getAttribute('data-loaded-by')
      )
    },
    null,
    { timeout: 60_000, polling: 'raf' },
  )
  assert.equal(await shownBy.jsonValue(), 'push')
  t.diagnostic(`start through the API → the open page shows running: ${Date.now() - liveFrom} ms`)

  // 4. the Logs view: the tail, then a line that arrives while it is open (a restart's manager lines)
  await card.getByRole('button', { name: 'Logs' }).click()
  const log = page.getByRole('dialog').locator('pre.log-view')
  await log.locator('.log-line').first().waitFor()
  const before = await log.locator('.log-line').count()
  await page.getByRole('dialog').getByText('Live', { exact: true }).waitFor()
  assert.equal((await api('POST', '/bundles/example/restart')).status, 200)
  await page.waitForFunction(
    (n) =>
      (globalThis as unknown as { document: Doc }).document.querySelectorAll('pre.log-view .log-line')
        .length > n,
    before,
    { timeout: 30_000 },
  )
  const text = String(await log.textContent())
  assert.match(text, /manager /, 'the manager lines are in the log view')
  await page.screenshot({ path: join(ARTIFACTS, 'manager-3-logs-1280.png') })
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()

  // 5. Uninstall asks first; then the card loses its manager part (what stays, until the controller forgets the
  //    component, is the registration of a bundle that went offline)
  await card.locator('[data-state="running"]').waitFor({ timeout: 60_000 })
  await card.getByRole('button', { name: 'Uninstall example', exact: true }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
  assert.ok(gw.manager.get('example'), 'Cancel keeps it')
  await card.getByRole('button', { name: 'Uninstall example', exact: true }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Uninstall' }).click()
  await card.locator('[data-state]').waitFor({ state: 'detached', timeout: 30_000 })
  assert.equal(await page.locator('.messages .notice.error').count(), 0)
  assert.equal(gw.manager.get('example'), undefined)

  // 6. a refused upload says why, with its code (the browser logs its 400 as a failed resource: allowed above)
  const bad = join(work, 'bad.tar.gz')
  await writeFile(bad, 'this is not gzip')
  await page.locator('#install-file').setInputFiles(bad)
  await page.getByText(/refused: .*GW_ERR_MANAGER_TARBALL_FORMAT/).waitFor()
  await page.screenshot({ path: join(ARTIFACTS, 'manager-4-refused-1280.png'), fullPage: true })
  assert.deepEqual(problems, [], 'no script error and no CSP violation in the page')
})
