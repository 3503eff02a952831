/**
 * The web console in a real browser (issue 8): Debian's chromium driven by playwright-core (which downloads no
 * browser), against a gateway and the real example bundle started here on loopback. It walks the seed's steps —
 * log in as the admin, change the initial password, Token, Add Token (Read), copy the secret, use it from the API
 * explorer (GET /example 200, PUT /example 403), revoke it, see it refused — and saves a screenshot of every page
 * at 1280 and 360 px under test-artifacts/. The login and the way to the Token page are done with the keyboard only.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { BROWSER_ARTIFACTS, chromiumSkip, launchChromium } from '../helpers/browser.ts'
import { lifo, logSink, startTestGateway } from '../helpers/gateway.ts'
import { copyExampleDir, spawnExample } from '../helpers/processes.ts'

const ARTIFACTS = BROWSER_ARTIFACTS
const skip = chromiumSkip

test('console in chromium: login, forced password change, Add Token, explorer with the token, revoke [HA-3][HA-10]', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const defer = lifo(t)
  const sink = logSink('info')
  const gw = await startTestGateway({}, sink.logger)
  defer(() => gw.close())
  const created = sink.lines.find((l) => String(l.msg).includes('created with the initial password'))
  const initial = /initial password (\S+)/.exec(String(created?.msg ?? ''))?.[1]
  assert.ok(initial, 'the first start logs the initial password')

  const exampleDir = await copyExampleDir()
  defer(() => rm(exampleDir, { recursive: true, force: true }))
  const example = spawnExample({ brokerUrl: gw.brokerUrl, dir: exampleDir })
  defer(() => example.stop())
  await example.ready

  await mkdir(ARTIFACTS, { recursive: true })
  const profile = await mkdtemp(join(tmpdir(), 'bg-chromium-'))
  defer(() => rm(profile, { recursive: true, force: true }))
  const context = await launchChromium(profile)
  defer(() => context.close())
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gw.httpUrl })
  const page = context.pages()[0] ?? (await context.newPage())
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[13]/.test(msg.text()))
      problems.push(`console: ${msg.text()}`)
  })

  const shot = async (name: string, p: Page = page) => {
    for (const width of [1280, 360]) {
      await p.setViewportSize({ width, height: width === 360 ? 780 : 800 })
      await p.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true })
    }
    await p.setViewportSize({ width: 1280, height: 800 })
  }
  const started = Date.now()

  // 1. log in as the admin with the initial password from the log
  await page.goto(`${gw.httpUrl}/`)
  await page.getByLabel('Username').waitFor()
  await shot('1-login')
  await page.getByLabel('Username').fill('admin')
  await page.getByLabel('Password').fill('not the password')
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByText('Wrong username or password.').waitFor()
  // the second attempt with the keyboard only: Tab to the fields, Enter submits
  await page.getByLabel('Password').fill('')
  await page.getByLabel('Username').fill('')
  await page.locator('body').focus()
  await tabTo(page, '#login-username')
  await page.keyboard.type('admin')
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate('document.activeElement.type'), 'password')
  await page.keyboard.type(initial)
  await page.keyboard.press('Enter')

  // 2. the initial password must be changed first
  await page.getByRole('heading', { name: 'Choose your own password' }).waitFor()
  await shot('2-password-change')
  const chosen = 'correct horse battery staple'
  await page.getByLabel('Initial password').fill(initial)
  await page.getByLabel('New password', { exact: true }).fill(chosen)
  await page.getByLabel('Repeat the new password').fill(chosen)
  await page.getByRole('button', { name: 'Change password' }).click()

  // 3. bundles: the example bundle with its resource and methods
  const card = page.locator('[data-bundle="example"]')
  await card.waitFor()
  assert.match(String(await card.textContent()), /\/example/)
  assert.match(String(await card.textContent()), /Online/)
  await shot('3-bundles')

  // 4. Token (reached with the keyboard: Tab to the link, a visible focus ring, Enter) → Add Token, Read, copy
  await page.locator('body').focus()
  await tabTo(page, 'a[data-page="tokens"]')
  assert.notEqual(
    await page.evaluate('getComputedStyle(document.activeElement).outlineStyle'),
    'none',
    'the focused link shows a focus ring',
  )
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { name: 'API tokens' }).waitFor()
  assert.equal(String(await page.locator('#root-token-file').textContent()), gw.tokenFile)
  await page.getByRole('button', { name: 'Add Token' }).click()
  await page.getByLabel('Description').fill('Grafana dashboard')
  await page.getByLabel('Read — GET on bundle resources').check()
  await page.screenshot({ path: join(ARTIFACTS, '4-add-token-1280.png') })
  await page.getByRole('button', { name: 'Create' }).click()
  const secretField = page.locator('#tok-secret')
  await secretField.waitFor()
  const shown = await secretField.inputValue()
  assert.match(shown, /^bgt_[A-Za-z0-9_-]{43}$/)
  await page.getByRole('button', { name: 'Copy' }).click()
  await page.getByText('Copied').waitFor()
  const copied = String(await page.evaluate('navigator.clipboard.readText()'))
  assert.equal(copied, shown, 'the clipboard holds the secret')
  await page.screenshot({ path: join(ARTIFACTS, '4-token-created-1280.png') })
  await page.getByRole('button', { name: 'Done' }).click()
  const row = page.locator('tr', { hasText: 'Grafana dashboard' })
  await row.waitFor()
  assert.match(String(await row.textContent()), /Read/)
  await shot('4-tokens')

  // 5. API explorer with the pasted Read token: GET 200, PUT 403
  await page.getByRole('link', { name: 'API explorer' }).click()
  await page.getByLabel('Resource').selectOption('/example')
  await page.getByLabel('An API token').check()
  await page.getByLabel('API token', { exact: true }).fill(copied)
  await page.getByLabel('Method').selectOption('GET')
  await page.getByRole('button', { name: 'Send' }).click()
  await page.locator('#ex-status', { hasText: '200' }).waitFor()
  t.diagnostic(
    `explorer GET /example with the Read token: ${String(await page.locator('#ex-time').textContent())}`,
  )
  assert.match(String(await page.locator('#ex-response').textContent()), /"key"/)
  await shot('5-explorer')
  await page.getByLabel('Method').selectOption('PUT')
  await page.getByLabel('JSON body').fill('{"key": "value2"}')
  await page.getByRole('button', { name: 'Send' }).click()
  await page.locator('#ex-status', { hasText: '403' }).waitFor()
  assert.match(String(await page.locator('#ex-response').textContent()), /GW_ERR_SCOPE/)

  // 6. revoke it (with confirmation), then the explorer sees it refused
  await page.getByRole('link', { name: 'Token', exact: true }).click()
  await row.getByRole('button', { name: 'Revoke' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click()
  await row.getByText('Revoked').waitFor()
  await shot('4-tokens-revoked')
  await page.getByRole('link', { name: 'API explorer' }).click()
  await page.getByLabel('Resource').selectOption('/example')
  await page.getByLabel('An API token').check()
  await page.getByLabel('API token', { exact: true }).fill(copied)
  await page.getByRole('button', { name: 'Send' }).click()
  await page.locator('#ex-status', { hasText: '401' }).waitFor()
  assert.match(String(await page.locator('#ex-response').textContent()), /revoked/)

  // 7. the same call with this session (admin) still works; the reference page renders
  await page.getByLabel('This session (admin)').check()
  await page.getByRole('button', { name: 'Send' }).click()
  await page.locator('#ex-status', { hasText: '200' }).waitFor()
  // a file through the explorer (issue 16): POST /files with a picked file goes as multipart/form-data
  await page.getByLabel('Resource').selectOption('/files')
  await page.getByLabel('Method').selectOption('POST')
  await page.getByLabel('File', { exact: false }).setInputFiles({
    name: 'picked.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('picked in the explorer'),
  })
  await page.getByRole('button', { name: 'Send' }).click()
  await page.locator('#ex-status', { hasText: '201' }).waitFor()
  assert.match(String(await page.locator('#ex-response').textContent()), /"name": "picked\.txt"/)
  assert.deepEqual(
    gw.files.list().map((f) => [f.name, f.size]),
    [['picked.txt', 22]],
  )
  await page.getByRole('link', { name: 'API reference' }).click()
  await page.getByRole('heading', { name: 'API reference' }).waitFor()
  await page.waitForLoadState('networkidle')
  await shot('6-reference')

  // 8. the Bundles page follows the push channel: the example bundle dies, its card turns Offline by itself
  await page.getByRole('link', { name: 'Bundles' }).click()
  await page.locator('[data-bundle="example"] .pill.ok', { hasText: 'Online' }).waitFor()
  await page.getByText('Live', { exact: true }).waitFor()
  // the traffic overview counts the explorer's calls of /example that reached the bundle (the 403 and 401 did not)
  const traffic = page.locator('[data-overview-bundle="example"]')
  await traffic.waitFor()
  assert.match(String(await traffic.textContent()), /^example[\d.]+0\.0 %≤ \d+ m?s≤ \d+ m?s[1-9]\d*$/)
  const killedAt = Date.now()
  await example.stop()
  await page.locator('[data-bundle="example"] .pill.bad', { hasText: 'Offline' }).waitFor({ timeout: 10_000 })
  t.diagnostic(`bundle card offline ${Date.now() - killedAt} ms after the kill, without a reload`)
  await shot('7-bundles-offline')

  // 9. log out: back to the login page, the cookie no longer works
  await page.getByRole('button', { name: 'Log out' }).click()
  await page.getByLabel('Username').waitFor()
  const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status)
  assert.equal(me, 401)
  t.diagnostic(`whole walk-through: ${Date.now() - started} ms`)
  assert.deepEqual(problems, [], 'no script error and no CSP violation in the page')
})

/** Presses Tab until the focused element matches `selector` (at most 30 times): keyboard navigation reaches it. */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab')
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return
  }
  throw new Error(`Tab never reached ${selector}`)
}
