/**
 * `bundlegate start` as a separate process, from the build (`node dist/cli/bin.js start`), on free loopback ports,
 * with its data directory, token file and (with `--example`) a copy of the example bundle in temporary directories.
 * Its addresses come from the start-up banner, the root token from the token file.
 * @module
 */
import { spawn } from 'node:child_process'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { get } from 'node:http'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { GATEWAY_BANNER } from './gateway-banner.ts'
import { gatewayStartArgs } from './gateway-start-args.ts'
import { LineWatcher } from './line-watcher.ts'
import { childPids, commandLine } from './proc-stats.ts'
import { removeDir, stopChild, stopPid, tempDir, track, trackPid } from './processes.ts'

export interface RunningGateway {
  pid: number
  /** `http://127.0.0.1:<port>` */
  httpUrl: string
  brokerUrl: string
  token: string
  /** From spawning `bundlegate start` to the first 200 on GET /ready. */
  spawnToReadyMs: number
  /** What the banner says ("Bundlegate ready in N ms", measured inside the process after loading the config). */
  bannerReadyMs: number
  /** What the banner says ("example registered in N ms"), with `--example`. */
  bannerRegisteredMs: number | undefined
  /** The example bundle process the gateway spawned, with `--example`. */
  bundlePid: number | undefined
  output: LineWatcher
  stop(): Promise<void>
}

/** A temporary copy of examples/example (bundle.json and the factory data only), so the run never touches it. */
export async function exampleBundleDir(repo: string): Promise<string> {
  const dir = await tempDir('bg-bench-bundle-')
  await mkdir(join(dir, 'data'))
  await copyFile(join(repo, 'examples/example/bundle.json'), join(dir, 'bundle.json'))
  await copyFile(
    join(repo, 'examples/example/data/example.json.factory'),
    join(dir, 'data/example.json.factory'),
  )
  return dir
}

/** GET `url` until it answers 200; resolves with performance.now() of that answer. */
async function pollUntil200(url: string, timeoutMs: number): Promise<number> {
  const end = performance.now() + timeoutMs
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      const req = get(url, { agent: false }, (res) => {
        res.resume()
        res.once('end', () => resolve(res.statusCode ?? 0))
      })
      req.once('error', () => resolve(0))
    })
    if (status === 200) return performance.now()
    if (performance.now() > end) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

export async function startGatewayProcess(
  repo: string,
  options: { example: boolean; timeoutMs: number },
): Promise<RunningGateway> {
  const dataDir = await tempDir('bg-bench-data-')
  const bundleDir = options.example ? await exampleBundleDir(repo) : undefined
  const args = gatewayStartArgs(join(repo, 'dist/cli/bin.js'), dataDir, options.example ? ['--example'] : [])
  const env: NodeJS.ProcessEnv = { ...process.env }
  if (bundleDir) env.BUNDLE_DIR = bundleDir
  const t0 = performance.now()
  const child = track(spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] }))
  const output = new LineWatcher(child)
  let bundlePid: number | undefined
  const stop = async () => {
    await stopChild(child, 8000)
    if (bundlePid !== undefined) await stopPid(bundlePid)
    await removeDir(dataDir)
    if (bundleDir) await removeDir(bundleDir)
  }
  try {
    const t = options.timeoutMs
    const web = await output.waitFor(GATEWAY_BANNER.webService, t, 'gateway start')
    const httpUrl = web.match[1] as string
    const readyAt = await pollUntil200(`${httpUrl}/ready`, t)
    const banner = await output.waitFor(/^Bundlegate ready in (\d+) ms/, t, 'gateway banner')
    const broker = await output.waitFor(GATEWAY_BANNER.broker, t, 'gateway banner (broker)')
    const tokenLine = await output.waitFor(/^\s+root token\s+(\S+)/, t, 'gateway banner (root token)')
    const token = (await readFile(tokenLine.match[1] as string, 'utf8')).trim()
    let bannerRegisteredMs: number | undefined
    if (options.example) {
      const reg = await output.waitFor(/^\s+example\s+registered in (\d+) ms/, t, 'example registration')
      bannerRegisteredMs = Number(reg.match[1])
      for (let i = 0; i < 100 && bundlePid === undefined; i++) {
        // the example runs as a managed bundle (docs/manager.md): <data.dir>/bundles/example/<version>/index.js
        bundlePid = childPids(child.pid as number).find((p) => {
          const cmd = commandLine(p)
          return cmd.includes('/bundles/example/') || cmd.includes('examples/example/index')
        })
        if (bundlePid === undefined) await new Promise((r) => setTimeout(r, 20))
      }
      if (bundlePid === undefined) throw new Error('cannot find the example bundle process of the gateway')
      trackPid(bundlePid)
    }
    return {
      pid: child.pid as number,
      httpUrl,
      brokerUrl: broker.match[1] as string,
      token,
      spawnToReadyMs: readyAt - t0,
      bannerReadyMs: Number(banner.match[1]),
      bannerRegisteredMs,
      bundlePid,
      output,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
