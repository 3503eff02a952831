/**
 * Footprint on a small device: how long `bundlegate start` takes to answer /ready, how long a TypeScript bundle
 * (the compiled example) takes from its spawn to "Register successfully", and how much memory each holds.
 * Each sample uses a throw-away gateway (without --example), so the gateway measured under load is not disturbed.
 * @module
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { exampleBundleDir, startGatewayProcess } from './gateway-process.ts'
import { LineWatcher } from './line-watcher.ts'
import { rssKiB } from './proc-stats.ts'
import { removeDir, stopChild, track } from './processes.ts'

export interface StartupSample {
  /** Spawn of `bundlegate start` → first 200 on GET /ready. */
  gatewaySpawnToReadyMs: number
  /** The banner's own "ready in N ms". */
  gatewayBannerReadyMs: number
  /** Spawn of `node dist/examples/example/index.js` → its "Register successfully" log line. */
  bundleSpawnToRegisteredMs: number
  /** The bundle's RSS one settle period after registering. */
  bundleIdleRssKiB: number | undefined
  /** The throw-away gateway's RSS at the same moment. */
  gatewayIdleRssKiB: number | undefined
  /** The throw-away gateway's RSS one settle period after /ready, before any bundle connected. */
  gatewayNoBundleRssKiB: number | undefined
}

/** Starts the compiled example bundle against `brokerUrl`; resolves when it has registered. */
export async function timeBundleRegistration(
  repo: string,
  brokerUrl: string,
  timeoutMs: number,
): Promise<{ ms: number; pid: number; stop: () => Promise<void> }> {
  const dir = await exampleBundleDir(repo)
  const t0 = performance.now()
  const child = track(
    spawn(process.execPath, [join(repo, 'dist/examples/example/index.js')], {
      cwd: repo,
      env: { ...process.env, BROKER_URL: brokerUrl, BUNDLE_DIR: dir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  const stop = async () => {
    await stopChild(child)
    await removeDir(dir)
  }
  try {
    const out = new LineWatcher(child)
    const { at } = await out.waitFor(/Register successfully/, timeoutMs, 'example bundle registration')
    return { ms: at - t0, pid: child.pid as number, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** One start-up sample: a fresh gateway, then a fresh bundle registering with it; both stopped afterwards. */
export async function startupSample(
  repo: string,
  settleMs: number,
  timeoutMs: number,
): Promise<StartupSample> {
  const gw = await startGatewayProcess(repo, { example: false, timeoutMs })
  try {
    await new Promise((r) => setTimeout(r, settleMs))
    const gatewayNoBundleRssKiB = rssKiB(gw.pid)
    const bundle = await timeBundleRegistration(repo, gw.brokerUrl, timeoutMs)
    try {
      await new Promise((r) => setTimeout(r, settleMs))
      return {
        gatewaySpawnToReadyMs: gw.spawnToReadyMs,
        gatewayBannerReadyMs: gw.bannerReadyMs,
        bundleSpawnToRegisteredMs: bundle.ms,
        bundleIdleRssKiB: rssKiB(bundle.pid),
        gatewayIdleRssKiB: rssKiB(gw.pid),
        gatewayNoBundleRssKiB,
      }
    } finally {
      await bundle.stop()
    }
  } finally {
    await gw.stop()
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export function mib(kib: number | undefined): number | undefined {
  return kib === undefined ? undefined : kib / 1024
}
