/**
 * `TestGateway.startBundle`: a bundle pointed at the test gateway (in a temp copy of its directory unless told
 * otherwise), started, and given up with the reason from the logs when it does not register in time.
 * @module
 */
import { join } from 'node:path'
import type { Logger } from '../logger.ts'
import { type Bundle, type BundleOptions, kRetarget } from '../sdk/bundle.ts'
import { copyBundleDir } from './bundle-dir.ts'
import type { LogLine } from './log-capture.ts'
import type { StartBundleOptions } from './test-gateway.ts'

/** What startBundle needs from its test gateway. */
export interface BundleTarget {
  brokerUrl: string
  /** The temp directory the bundle copies go under. */
  root: string
  /** The fallback logger of the bundles. */
  logger: Logger
  /** The captured warnings and errors, read for the reason of a timeout. */
  lines: readonly LogLine[]
  /** The bundles close() stops; the new one is added before it starts. */
  bundles: Bundle[]
  /** A fresh directory name for a bundle copy: `bundle-1`, `bundle-2`, … */
  nextDir(): string
}

/** Starts `bundle` against the test gateway; resolves once it is registered. */
export async function startBundleOn<B extends Bundle>(
  target: BundleTarget,
  bundle: B,
  bundleOptions: StartBundleOptions = {},
): Promise<B> {
  const overrides: BundleOptions = { brokerUrl: target.brokerUrl, signals: false }
  if (bundleOptions.logger) overrides.logger = bundleOptions.logger
  if (bundleOptions.isolate ?? true) {
    const dir = join(target.root, target.nextDir())
    await copyBundleDir(bundle.dir, dir)
    overrides.dir = dir
  }
  bundle[kRetarget](overrides, target.logger)
  target.bundles.push(bundle)
  const timeoutMs = bundleOptions.timeoutMs ?? 5000
  const warnings = target.lines.length
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  try {
    if ((await Promise.race([bundle.start(), timedOut])) === 'timeout') {
      await bundle.stop()
      const why = [...new Set(target.lines.slice(warnings).map(describe))]
      throw new Error(
        `bundle '${safeName(bundle)}' did not register within ${timeoutMs} ms` +
          (why.length > 0 ? `: ${why.join('; ')}` : ''),
      )
    }
  } finally {
    clearTimeout(timer)
  }
  return bundle
}

/** `registration refused, retrying (resource '/tokens' is already provided by 'gateway')`. */
function describe(line: LogLine): string {
  const detail = [line.data, line.err].map((d) =>
    d && typeof d === 'object' && typeof (d as { message?: unknown }).message === 'string'
      ? (d as { message: string }).message
      : undefined,
  )
  const extra =
    detail.find((d) => d !== undefined) ?? (line.code === undefined ? undefined : `code ${line.code}`)
  return extra === undefined ? String(line.msg) : `${String(line.msg)} (${extra})`
}

function safeName(bundle: Bundle): string {
  try {
    return bundle.name
  } catch {
    return bundle.dir
  }
}
