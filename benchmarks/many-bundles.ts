/**
 * The footprint of many bundles on one device: the gateway plus N copies of the compiled example bundle (each
 * renamed, with a resource of its own), once in the shared host (`bundlegate host`, one process, a worker thread
 * each) and once as N processes. RSS counts the Node binary's shared pages once per process; PSS shares them out,
 * which is closer to what the device really spends. Part of `npm run bench` (BENCH_MANY=0 skips it).
 * @module
 */
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { exampleBundleDir, startGatewayProcess } from './gateway-process.ts'
import { LineWatcher } from './line-watcher.ts'
import { rssKiB } from './proc-stats.ts'
import { stopChild, track } from './processes.ts'

export interface ManyBundlesFootprint {
  bundles: number
  /** Gateway with every bundle registered. */
  gatewayRssMiB: number | undefined
  /** The shared host's one process. */
  hostRssMiB: number | undefined
  hostPssMiB: number | undefined
  /** The same host started with `node --lite-mode` (V8 without its optimising compiler). */
  hostLiteRssMiB: number | undefined
  hostLitePssMiB: number | undefined
  /** The same bundles as processes, summed. */
  processesRssMiB: number | undefined
  processesPssMiB: number | undefined
}

const mib = (kib: number | undefined) => (kib === undefined ? undefined : kib / 1024)

/** PSS of `pid` in KiB (smaps_rollup), or undefined. */
async function pssKiB(pid: number): Promise<number | undefined> {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/** N renamed copies of the example: `example-a` on `/example-a`, … with the compiled entry point as `main`. */
async function copies(repo: string, n: number): Promise<string[]> {
  const dirs: string[] = []
  for (let i = 0; i < n; i++) {
    const dir = await exampleBundleDir(repo)
    const manifest = JSON.parse(await readFile(join(dir, 'bundle.json'), 'utf8')) as Record<string, unknown>
    const name = `example-${String.fromCharCode(97 + i)}`
    manifest.name = name
    manifest.main = join(repo, 'dist/examples/example/index.js')
    manifest.resources = [{ methods: ['get', 'put'], resource: `/${name}` }]
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest))
    dirs.push(dir)
  }
  return dirs
}

async function sum(pids: number[], read: (pid: number) => Promise<number | undefined> | number | undefined) {
  let total = 0
  for (const pid of pids) total += (await read(pid)) ?? Number.NaN
  return total
}

/** Starts the gateway, then the bundles each way; reads the memory `settleMs` after all have registered. */
export async function manyBundlesFootprint(
  repo: string,
  n: number,
  settleMs: number,
  timeoutMs: number,
): Promise<ManyBundlesFootprint> {
  const gw = await startGatewayProcess(repo, { example: false, timeoutMs })
  const dirs = await copies(repo, n)
  const names = dirs.map((_d, i) => `example-${String.fromCharCode(97 + i)}`)
  const registered = async (out: LineWatcher, which: string[]) => {
    for (const name of which)
      await out.waitFor(new RegExp(`Register successfully ${name} tunnel`), timeoutMs, `${name} registered`)
  }
  try {
    const env = { ...process.env, BROKER_URL: gw.brokerUrl, LOG_LEVEL: 'info' }
    const hosted = async (nodeFlags: string[]) => {
      const host = track(
        spawn(process.execPath, [...nodeFlags, join(repo, 'dist/cli/bin.js'), 'host', ...dirs], {
          cwd: repo,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      )
      try {
        await registered(new LineWatcher(host), names)
        await new Promise((r) => setTimeout(r, settleMs))
        return { rss: mib(rssKiB(host.pid as number)), pss: mib(await pssKiB(host.pid as number)) }
      } finally {
        await stopChild(host, 15_000)
      }
    }
    const plain = await hosted([])
    const gatewayRssMiB = mib(rssKiB(gw.pid))
    const lite = await hosted(['--lite-mode'])
    const result: ManyBundlesFootprint = {
      bundles: n,
      gatewayRssMiB,
      hostRssMiB: plain.rss,
      hostPssMiB: plain.pss,
      hostLiteRssMiB: lite.rss,
      hostLitePssMiB: lite.pss,
      processesRssMiB: undefined,
      processesPssMiB: undefined,
    }
    const children = dirs.map((dir) =>
      track(
        spawn(process.execPath, [join(repo, 'dist/examples/example/index.js')], {
          cwd: repo,
          env: { ...env, BUNDLE_DIR: dir },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      ),
    )
    try {
      for (const [i, c] of children.entries()) await registered(new LineWatcher(c), [names[i] as string])
      await new Promise((r) => setTimeout(r, settleMs))
      const pids = children.map((c) => c.pid as number)
      result.processesRssMiB = mib(await sum(pids, rssKiB))
      result.processesPssMiB = mib(await sum(pids, pssKiB))
    } finally {
      for (const c of children) await stopChild(c, 8000)
    }
    return result
  } finally {
    await gw.stop()
  }
}
