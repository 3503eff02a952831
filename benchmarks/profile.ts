/**
 * `npm run profile`: where the time goes under case A's load (issue 14, item 1). Starts the compiled gateway with
 * `--example` with the inspector's CPU profiler on (cpu-prof-preload.mjs; the example bundle inherits it), drives
 * `GET /api/v1/example` at concurrency 16 (`PROFILE_CONCURRENCY`) for `PROFILE_SECONDS` (default 10), stops both,
 * and prints for each process the top functions by self time and the share of each package or area of ours.
 * The .cpuprofile files stay in the printed directory (open them in Chrome DevTools for the call trees).
 * @module
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startGatewayProcess } from './gateway-process.ts'
import { cleanupAll, installCleanupHandlers } from './processes.ts'
import { runLoad } from './run-load.ts'

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..')

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Which package (node_modules/<name>), area of ours (src/<area>) or Node part a script URL belongs to. */
export function ownerOf(url: string): string {
  if (url === '') return '(native / GC / idle)'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg) return pkg[1] as string
  const ours = /\/dist\/(?:src\/)?([^/]+)\//.exec(url) ?? /\/src\/([^/]+)\//.exec(url)
  if (ours) return `bundlegate/${ours[1]}`
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  return url.split('/').slice(-2).join('/')
}

/** Self time per function and per owner, in ms, from a V8 .cpuprofile. */
export function summariseProfile(p: CpuProfile): {
  totalMs: number
  functions: Array<[string, number]>
  owners: Array<[string, number]>
} {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (const [i, id] of p.samples.entries()) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000)
  const fn = new Map<string, number>()
  const owner = new Map<string, number>()
  let totalMs = 0
  for (const [id, ms] of self) {
    const n = byId.get(id)
    if (!n) continue
    const { functionName, url, lineNumber } = n.callFrame
    const skip = functionName === '(idle)' || functionName === '(program)'
    if (skip) continue
    totalMs += ms
    const file = url.split('/').slice(-1)[0] ?? ''
    const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1} [${ownerOf(url)}]`
    fn.set(key, (fn.get(key) ?? 0) + ms)
    const o = functionName === '(garbage collector)' ? '(garbage collector)' : ownerOf(url)
    owner.set(o, (owner.get(o) ?? 0) + ms)
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1])
  return { totalMs, functions: sorted(fn), owners: sorted(owner) }
}

function print(title: string, s: ReturnType<typeof summariseProfile>, top: number): void {
  const pct = (ms: number) => `${((ms / s.totalMs) * 100).toFixed(1)} %`
  process.stdout.write(`\n### ${title}: ${s.totalMs.toFixed(0)} ms of CPU (idle excluded)\n\n`)
  process.stdout.write('| owner | self | share |\n| --- | ---: | ---: |\n')
  for (const [o, ms] of s.owners.slice(0, top))
    process.stdout.write(`| ${o} | ${ms.toFixed(0)} ms | ${pct(ms)} |\n`)
  process.stdout.write('\n| function | self | share |\n| --- | ---: | ---: |\n')
  for (const [f, ms] of s.functions.slice(0, top))
    process.stdout.write(`| \`${f}\` | ${ms.toFixed(0)} ms | ${pct(ms)} |\n`)
}

async function main(): Promise<void> {
  const seconds = Number(process.env.PROFILE_SECONDS ?? 10)
  const concurrency = Number(process.env.PROFILE_CONCURRENCY ?? 16)
  const top = Number(process.env.PROFILE_TOP ?? 15)
  const dir = process.env.PROFILE_DIR ?? (await mkdtemp(join(tmpdir(), 'bg-profile-')))
  // Both the gateway and the bundle it spawns inherit these (Node refuses --cpu-prof in NODE_OPTIONS).
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${join(REPO, 'benchmarks/cpu-prof-preload.mjs')}`
  process.env.BG_PROFILE_DIR = dir
  const gw = await startGatewayProcess(REPO, { example: true, timeoutMs: 30_000 })
  delete process.env.NODE_OPTIONS
  delete process.env.BG_PROFILE_DIR
  const spec = {
    concurrency,
    warmupMs: 2000,
    durationMs: seconds * 1000,
    requestTimeoutMs: 10_000,
    target: {
      kind: 'http' as const,
      url: `${gw.httpUrl}/api/v1/example`,
      headers: { 'mx-api-token': gw.token },
      expectBody: '{"key":"value"}',
    },
  }
  const { result } = await runLoad(spec, [])
  process.stderr.write(
    `load: ${result.ok} ok, ${result.errors} errors in ${result.elapsedMs.toFixed(0)} ms\n`,
  )
  await gw.stop()
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))
  process.stdout.write(`## CPU profiles under case A, c${concurrency}, ${seconds} s (${dir})\n`)
  for (const f of files) {
    const summary = summariseProfile(JSON.parse(await readFile(join(dir, f), 'utf8')) as CpuProfile)
    const who = summary.owners.some(([o]) => o === 'bundlegate/gateway' || o === 'fastify')
      ? 'gateway'
      : 'bundle'
    print(`${who} (${f})`, summary, top)
  }
}

installCleanupHandlers()
try {
  await main()
} finally {
  await cleanupAll()
}
