/**
 * The `manager.*` configuration turned into what the manager's parts take (docs/config.md).
 * @module
 */

import { join } from 'node:path'
import type { Config } from '../config/index.ts'
import { BundleLog } from './bundle-log.ts'
import { LAYOUT } from './manager-store.ts'
import type { SupervisorPolicy } from './supervisor.ts'

/** The restart policy in ms. */
export function supervisorPolicy(m: Config['manager']): SupervisorPolicy {
  return {
    startupTimeoutMs: m.startupTimeoutSec * 1000,
    probationMs: m.probationSec * 1000,
    restartInitialMs: m.restartInitialMs,
    restartMaxMs: m.restartMaxMs,
    resetAfterMs: m.resetAfterSec * 1000,
    crashLoopFailures: m.crashLoopFailures,
    crashLoopWindowMs: m.crashLoopWindowSec * 1000,
    brokenRetryMs: m.brokenRetrySec * 1000,
  }
}

/** The log of bundle `name`: `<dataDir>/logs/<name>.log`, rotated and rate-capped as configured. */
export function openBundleLog(dataDir: string, m: Config['manager'], name: string): BundleLog {
  return new BundleLog({
    file: join(dataDir, LAYOUT.logs, `${name}.log`),
    maxBytes: m.logMaxBytes,
    files: m.logFiles,
    linesPerSec: m.logLinesPerSec,
    burst: m.logBurst,
  })
}
