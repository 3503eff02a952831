/**
 * The real browser of the console tests: Debian's chromium through playwright-core, headless, loopback only.
 * @module
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { REPO_ROOT } from './processes.ts'

export const CHROMIUM = '/usr/bin/chromium'

/** Screenshots of failed browser tests. */
export const BROWSER_ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'console')

/** The test's `skip`: a reason when chromium is missing outside CI (under CI it must be there), else false. */
export const chromiumSkip: string | false =
  !existsSync(CHROMIUM) && !process.env.CI
    ? `${CHROMIUM} is missing (apt-get install chromium); the browser test runs whenever it is there, and always under CI`
    : false

/** A headless chromium with its own profile directory, no network of its own (no sync, updates, QUIC). */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  })
}
