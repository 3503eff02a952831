/**
 * Case P of `npm run bench` (issue 14, item 5): the Python stand-in (py-standin.py: three dispatch threads, each
 * answering at QoS 2 and waiting for the handshake, as the Sanji SDK 1.1.2 example does) measured two ways in one run:
 *   P   HTTP → Bundlegate → stand-in, registered with the controller like an original bundle;
 *   PD  the stand-in alone behind mosquitto, requests published straight to its tunnel and answers taken from
 *       /controller: no controller, no HTTP; what the bundle itself can do.
 * P / PD says what Bundlegate costs an original Python bundle (aim: ≥ 0.9, never slower than the original, whose
 * limit is the same bundle); the stand-in's handshake times (publish to PUBCOMP) say how much of each answer's
 * latency is the broker's side of QoS 2 — with the embedded broker, the gateway's event loop.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RunningGateway } from './gateway-process.ts'
import { LineWatcher } from './line-watcher.ts'
import type { LoadSpec } from './load-spec.ts'
import { stopChild, tempDir, track } from './processes.ts'
import type { CaseResult } from './report.ts'
import { runLoad, summarise } from './run-load.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const EXPECTED = '{"key":"value"}'

/** What the stand-in reports on SIGTERM. */
export interface StandinReport {
  answers: number
  handshakeUs: { p50: number | null; p90: number | null; p99: number | null }
}

export interface PythonCase {
  python: string
  concurrency: number
  viaGateway: CaseResult
  direct: CaseResult
  /** P / PD throughput. */
  ratio: number
  gatewayHandshake: StandinReport
  mosquittoHandshake: StandinReport
}

/** `python3` when it has paho-mqtt, else Debian's `/usr/bin/python3` (where python3-paho-mqtt installs); or undefined. */
export function pythonWithPaho(): string | undefined {
  return [process.env.BUNDLEGATE_PYTHON, 'python3', '/usr/bin/python3'].find(
    (py) => py && spawnSync(py, ['-c', 'import paho.mqtt.client'], { stdio: 'ignore' }).status === 0,
  )
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function startMosquitto(): Promise<{ url: string; child: ChildProcess }> {
  const dir = await tempDir('bg-bench-mosquitto-')
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const user = process.getuid?.() === 0 ? ['user root'] : []
  // TCP_NODELAY as the embedded broker has it: mosquitto's default (Nagle) would stall each QoS 2 handshake and
  // make PD the broker's limit rather than the bundle's.
  const lines = [...user, `listener ${port} 127.0.0.1`, 'allow_anonymous true', 'set_tcp_nodelay true', '']
  await writeFile(conf, lines.join('\n'))
  const child = track(spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }))
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createServer()
      s.once('error', () => resolve(true)) // the port is taken: mosquitto listens
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)))
    })
    if (up) return { url: `mqtt://127.0.0.1:${port}`, child }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('mosquitto did not listen within 5 s')
}

async function startStandin(
  python: string,
  args: string[],
): Promise<{ child: ChildProcess; output: LineWatcher; ready: string }> {
  const child = track(
    spawn(python, [join(HERE, 'py-standin.py'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] }),
  )
  const output = new LineWatcher(child)
  const m = await output.waitFor(/^(?:registered|listening) (\S+)/, 20_000, 'the Python stand-in')
  return { child, output, ready: m.match[1] as string }
}

async function stopStandin(s: { child: ChildProcess; output: LineWatcher }): Promise<StandinReport> {
  s.child.kill('SIGTERM')
  const m = await s.output.waitFor(/^\{"answers"/, 10_000, 'the stand-in report')
  await stopChild(s.child, 5000)
  return JSON.parse(m.match.input) as StandinReport
}

/** Runs P and PD at each concurrency; the gateway is the benchmark's own (case A's). */
export async function pythonStandinCases(
  gw: RunningGateway,
  python: string,
  concurrency: number[],
  timing: { warmupMs: number; durationMs: number; requestTimeoutMs: number },
): Promise<PythonCase[]> {
  const out: PythonCase[] = []
  const mosquitto = await startMosquitto()
  try {
    for (const c of concurrency) {
      const base = { concurrency: c, ...timing }
      const viaStandin = await startStandin(python, ['--register', '--url', gw.brokerUrl])
      const pSpec: LoadSpec = {
        ...base,
        target: {
          kind: 'http',
          url: `${gw.httpUrl}/api/v1/pystandin`,
          headers: { 'mx-api-token': gw.token },
          expectBody: EXPECTED,
        },
      }
      const p = await runLoad(pSpec, [
        { name: 'gateway', pid: gw.pid },
        { name: 'bundle', pid: viaStandin.child.pid as number },
      ])
      const gatewayHandshake = await stopStandin(viaStandin)
      const tunnel = `pystandin-${process.pid}`
      const alone = await startStandin(python, ['--tunnel', tunnel, '--url', mosquitto.url])
      const pdSpec: LoadSpec = {
        ...base,
        target: {
          kind: 'mqtt',
          brokerUrl: mosquitto.url,
          method: 'get',
          resource: '/pystandin',
          qos: 2,
          expectData: EXPECTED,
          direct: { requestTopic: tunnel, answerTopic: '/controller' },
        },
      }
      const pd = await runLoad(pdSpec, [{ name: 'bundle', pid: alone.child.pid as number }])
      const mosquittoHandshake = await stopStandin(alone)
      const viaGateway = summarise('P', c, [p])
      const direct = summarise('PD', c, [pd])
      out.push({
        python,
        concurrency: c,
        viaGateway,
        direct,
        ratio: direct.rps > 0 ? viaGateway.rps / direct.rps : Number.NaN,
        gatewayHandshake,
        mosquittoHandshake,
      })
    }
  } finally {
    await stopChild(mosquitto.child, 5000)
  }
  return out
}

/** The Markdown table of case P. */
export function pythonMarkdown(cases: PythonCase[]): string {
  if (cases.length === 0) return ''
  const ms = (us: number | null) => (us === null ? '–' : (us / 1000).toFixed(2))
  const rows = cases.map(
    (x) =>
      `| ${x.concurrency} | ${x.viaGateway.rps.toFixed(0)} | ${x.direct.rps.toFixed(0)} | ${(x.ratio * 100).toFixed(0)} % ` +
      `| ${x.viaGateway.latencyMs.p50.toFixed(2)} / ${x.viaGateway.latencyMs.p99.toFixed(2)} ` +
      `| ${x.direct.latencyMs.p50.toFixed(2)} / ${x.direct.latencyMs.p99.toFixed(2)} ` +
      `| ${ms(x.gatewayHandshake.handshakeUs.p50)} / ${ms(x.gatewayHandshake.handshakeUs.p99)} ` +
      `| ${ms(x.mosquittoHandshake.handshakeUs.p50)} / ${ms(x.mosquittoHandshake.handshakeUs.p99)} |`,
  )
  return [
    `### Case P: the Python stand-in (${cases[0]?.python}; 3 threads, QoS 2, waits for PUBCOMP)`,
    '',
    '| c | P req/s (via Bundlegate) | PD req/s (alone, mosquitto) | P / PD | P p50 / p99 ms | PD p50 / p99 ms | QoS 2 handshake via Bundlegate p50 / p99 ms | handshake via mosquitto p50 / p99 ms |',
    '| - | - | - | - | - | - | - | - |',
    ...rows,
  ].join('\n')
}
