/**
 * The bundle manager's numbers for docs/reliability.md "Managed bundles" (issue 15), run by hand, never by `npm test`:
 *
 * 1. install → running: a copy of the compiled example bundle (`dist/examples/example`, renamed `example-a`… with the
 *    resource `/example-a`…) packed as `bundlegate install` packs a directory and sent to `POST /api/v1/bundles`; from
 *    the request's start to the first 200 of `GET /api/v1/example-a`. Ten copies, one after the other.
 * 2. the gateway's RSS (VmRSS of the `bundlegate start` process) before any install and with the ten copies running;
 *    the bundles' own RSS (`managed.rssBytes`) beside it.
 * 3. kill -9 → first 200 again: SIGKILL to `example-a`'s process, then `GET /api/v1/example-a` every 5 ms until 200.
 *    Ten times, each after the bundle has run for longer than `manager.resetAfterSec`, so that each kill meets the
 *    first restart delay (1 s, `manager.restartInitialMs`); the crash-loop guard is raised so that ten kills in a
 *    few minutes do not make it `broken`. Both settings are printed with the numbers.
 *
 *   npm run build && node --conditions=bundlegate-dev --import tsx benchmarks/manager-recovery.ts
 *
 * Prints the numbers as Markdown and JSON, with the commit.
 * @module
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { packBundle } from '../src/cli/pack-bundle.ts'
import { GATEWAY_BANNER } from './gateway-banner.ts'
import { gatewayStartArgs } from './gateway-start-args.ts'
import { LineWatcher } from './line-watcher.ts'
import { rssKiB } from './proc-stats.ts'
import { cleanupAll, installCleanupHandlers, stopChild, tempDir, track } from './processes.ts'

const repo = fileURLToPath(new URL('../', import.meta.url))
const COPIES = Number(process.env.BENCH_COPIES ?? 10)
const KILLS = Number(process.env.BENCH_KILLS ?? 10)
/** Settings the measurement needs (see the module comment); everything else is the default. */
const MANAGER = { resetAfterSec: 3, crashLoopFailures: 1000 }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** The name of copy `i` (1-based): bundle names are letters and dashes, so `example-a`, `example-b`… */
const copyName = (i: number) => `example-${String.fromCharCode(96 + i)}`

/** A copy of the compiled example as bundle `name` serving `/<name>`. */
async function exampleCopy(parent: string, name: string): Promise<string> {
  const src = join(repo, 'dist/examples/example')
  const dir = join(parent, name)
  await mkdir(join(dir, 'data'), { recursive: true })
  const manifest = JSON.parse(await readFile(join(repo, 'examples/example/bundle.json'), 'utf8'))
  manifest.name = name
  manifest.main = 'index.js'
  manifest.resources = [{ methods: ['get', 'put'], resource: `/${name}` }]
  await writeFile(join(dir, 'bundle.json'), JSON.stringify(manifest, null, 2))
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n')
  for (const f of ['index.js', 'example-bundle.js']) {
    const code = await readFile(join(src, f), 'utf8')
    await writeFile(join(dir, f), code.replaceAll("'/example'", `'/${name}'`))
  }
  await copyFile(
    join(repo, 'examples/example/data/example.json.factory'),
    join(dir, 'data/example.json.factory'),
  )
  return dir
}

async function status(url: string, token: string): Promise<number> {
  try {
    const res = await fetch(url, { headers: { 'mx-api-token': token } })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}

/** Polls `url` every `everyMs` until 200; performance.now() of that answer. */
async function until200(url: string, token: string, timeoutMs: number, everyMs = 5): Promise<number> {
  const end = performance.now() + timeoutMs
  for (;;) {
    if ((await status(url, token)) === 200) return performance.now()
    if (performance.now() > end) throw new Error(`${url}: no 200 within ${timeoutMs} ms`)
    await sleep(everyMs)
  }
}

async function managed(base: string, token: string, name: string) {
  const res = await fetch(`${base}/api/v1/bundles/${name}`, { headers: { 'mx-api-token': token } })
  return (
    (await res.json()) as {
      managed?: { state: string; pid: number | null; uptimeSec: number; rssBytes: number | null }
    }
  ).managed
}

/** State changes of bundle `name` as they arrive on the push channel, with performance.now() of each. */
async function watchStates(
  base: string,
  token: string,
  name: string,
): Promise<{
  seen: Array<{ state: string; at: number }>
  close(): void
}> {
  const ac = new AbortController()
  const res = await fetch(`${base}/api/v1/events?resource=${encodeURIComponent(`/bundles/${name}`)}`, {
    headers: { 'mx-api-token': token, accept: 'text/event-stream' },
    signal: ac.signal,
  })
  const seen: Array<{ state: string; at: number }> = []
  void (async () => {
    let buffer = ''
    const decoder = new TextDecoder()
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let nl = buffer.indexOf('\n')
        while (nl !== -1) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          if (line.startsWith('data: ')) {
            const e = JSON.parse(line.slice(6)) as { data?: { change?: string; state?: string } }
            if (e.data?.change === 'state' && e.data.state)
              seen.push({ state: e.data.state, at: performance.now() })
          }
          nl = buffer.indexOf('\n')
        }
      }
    } catch {
      // closed
    }
  })()
  return { seen, close: () => ac.abort() }
}

async function main(): Promise<void> {
  installCleanupHandlers()
  for (const f of ['dist/cli/bin.js', 'dist/examples/example/index.js'])
    if (!existsSync(join(repo, f))) throw new Error(`${f} is missing: run npm run build first`)
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim()
  const dataDir = await tempDir('bg-bench-mgr-')
  const copies = await tempDir('bg-bench-mgr-copies-')
  const configFile = join(dataDir, 'config.json')
  await writeFile(configFile, JSON.stringify({ manager: MANAGER, log: { level: process.env.BENCH_LOG_LEVEL ?? 'warn' } }))
  const args = gatewayStartArgs(join(repo, 'dist/cli/bin.js'), dataDir, ['--config', configFile])
  const child = track(spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] }))
  const out = new LineWatcher(child, 20_000)
  try {
    const base = (await out.waitFor(GATEWAY_BANNER.webService, 30_000, 'gateway start')).match[1] as string
    const tokenLine = await out.waitFor(/^\s+root token\s+(\S+)/, 30_000, 'root token')
    const token = (await readFile(tokenLine.match[1] as string, 'utf8')).trim()
    await until200(`${base}/ready`, token, 30_000)
    await sleep(2000)
    const gwPid = child.pid as number
    const rssBefore = rssKiB(gwPid) ?? 0

    const installMs: number[] = []
    for (let i = 1; i <= COPIES; i++) {
      const name = copyName(i)
      const body = await packBundle(await exampleCopy(copies, name))
      const t0 = performance.now()
      const res = await fetch(`${base}/api/v1/bundles`, {
        method: 'POST',
        headers: { 'mx-api-token': token, 'content-type': 'application/gzip' },
        body: Readable.toWeb(body) as ReadableStream<Uint8Array>,
        duplex: 'half',
      } as RequestInit)
      const text = await res.text()
      if (res.status !== 201) throw new Error(`install ${name}: ${res.status} ${text}`)
      const t1 = await until200(`${base}/api/v1/${name}`, token, 60_000)
      installMs.push(Math.round(t1 - t0))
      process.stderr.write(`install ${name}: ${Math.round(t1 - t0)} ms\n`)
    }
    await sleep(6000) // a memory sample or two (manager.memorySampleSec 5)
    const rssWith = rssKiB(gwPid) ?? 0
    let bundlesRss = 0
    for (let i = 1; i <= COPIES; i++) bundlesRss += (await managed(base, token, copyName(i)))?.rssBytes ?? 0

    const killMs: number[] = []
    /** Per kill: ms from the kill to the manager's `backoff` (exit seen), `starting` (relaunched), `running`. */
    const phases: Array<Record<string, number>> = []
    const states = await watchStates(base, token, copyName(1))
    for (let k = 0; k < KILLS; k++) {
      let m = await managed(base, token, copyName(1))
      while (m?.state !== 'running' || m.uptimeSec < MANAGER.resetAfterSec + 0.5) {
        await sleep(100)
        m = await managed(base, token, copyName(1))
      }
      const pid = m.pid as number
      const from = states.seen.length
      const t0 = performance.now()
      process.kill(pid, 'SIGKILL')
      // the 200 must come from the new process: wait until the old one is gone from the routes (503 or 404 or timeout)
      const t1 = await until200(`${base}/api/v1/${copyName(1)}`, token, 60_000)
      const after = await managed(base, token, copyName(1))
      if (after?.pid === pid) throw new Error('answered by the killed process?')
      killMs.push(Math.round(t1 - t0))
      const phase: Record<string, number> = {}
      for (const e of states.seen.slice(from)) phase[e.state] ??= Math.round(e.at - t0)
      phases.push(phase)
      process.stderr.write(`kill -9 #${k + 1}: ${Math.round(t1 - t0)} ms\n`)
    }

    const result = {
      commit,
      date: new Date().toISOString(),
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      manager: MANAGER,
      installToRunningMs: installMs,
      installToRunningMedianOfFirst5Ms: median(installMs.slice(0, 5)),
      gatewayRssKiB: { before: rssBefore, with10: rssWith, copies: COPIES },
      bundlesRssMiB: Math.round(bundlesRss / 1_048_576),
      killToFirst200Ms: killMs,
      killToFirst200MedianMs: median(killMs),
      killPhasesMs: phases,
      killPhaseMediansMs: Object.fromEntries(
        ['backoff', 'starting', 'running'].map((st) => [
          st,
          median(phases.map((p) => p[st]).filter((x): x is number => x !== undefined)),
        ]),
      ),
    }
    states.close()
    console.log(JSON.stringify(result, null, 2))
    console.log(`
| measurement | result |
| --- | --- |
| kill -9 of the compiled example → first 200 again (${KILLS} kills) | median ${result.killToFirst200MedianMs} ms (${killMs.join(', ')}) |
| of which: kill → \`backoff\` / → \`starting\` / → \`running\` (medians) | ${result.killPhaseMediansMs.backoff} / ${result.killPhaseMediansMs.starting} / ${result.killPhaseMediansMs.running} ms |
| install → running, tarball over HTTP (first 5 of ${COPIES}) | median ${result.installToRunningMedianOfFirst5Ms} ms (${installMs.join(', ')}) |
| gateway RSS, no managed bundle → ${COPIES} managed copies running | ${Math.round(rssBefore / 1024)} → ${Math.round(rssWith / 1024)} MiB (the ${COPIES} bundle processes: ${result.bundlesRssMiB} MiB together) |

commit ${commit}, ${result.date}, ${result.cpus} × ${result.cpuModel}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`)
  } finally {
    if (process.env.BENCH_LOG_FILE) await writeFile(process.env.BENCH_LOG_FILE, out.lines.join('\n'))
    await stopChild(child, 15_000)
    await cleanupAll()
  }
}

await main()
