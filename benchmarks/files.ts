/**
 * Throughput of the file service (issue 16): a 100 MiB file uploaded (raw body and multipart) and downloaded through
 * the gateway (`node dist/cli/bin.js start`, its own process), with the gateway's resident memory (VmRSS of
 * /proc/<pid>/status) sampled every 20 ms during each transfer: it stays flat because files are streamed, never held
 * in memory. A script, not a test (no test asserts a timing):
 *
 *   npm run build && node --conditions=bundlegate-dev --import tsx benchmarks/files.ts [--mib 100] [--rounds 3]
 *
 * Prints a Markdown table (for docs/performance.md) on stdout, progress on stderr.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open, rm, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { PassThrough, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { type RunningGateway, startGatewayProcess } from './gateway-process.ts'
import { cpuModel, rssKiB } from './proc-stats.ts'
import { cleanupAll, installCleanupHandlers, tempDir } from './processes.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({
  options: { mib: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' } },
})
const MIB = Number(values.mib)
const ROUNDS = Number(values.rounds)
const BOUNDARY = 'bgBenchBoundary'

interface Sample {
  ms: number
  mibPerSec: number
  rssBeforeMiB: number
  rssMaxMiB: number
  rssAfterMiB: number
}

/** Runs `fn` while sampling the gateway's VmRSS every 20 ms. */
async function sampled(pid: number, bytes: number, fn: () => Promise<void>): Promise<Sample> {
  const before = rssKiB(pid) ?? 0
  let max = before
  const timer = setInterval(() => {
    max = Math.max(max, rssKiB(pid) ?? 0)
  }, 20)
  const t0 = performance.now()
  try {
    await fn()
  } finally {
    clearInterval(timer)
  }
  const ms = performance.now() - t0
  const after = rssKiB(pid) ?? 0
  max = Math.max(max, after)
  return {
    ms,
    mibPerSec: bytes / 1_048_576 / (ms / 1000),
    rssBeforeMiB: before / 1024,
    rssMaxMiB: max / 1024,
    rssAfterMiB: after / 1024,
  }
}

function send(
  gw: RunningGateway,
  path: string,
  headers: Record<string, string>,
  body: Readable,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'mx-api-token': gw.token, ...headers },
    })
    req.once('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        text += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.once('error', reject)
    pipeline(body, req).catch(reject)
  })
}

function multipartOf(file: string): Readable {
  const out = new PassThrough()
  void (async () => {
    out.write(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    )
    await pipeline(createReadStream(file), out, { end: false })
    out.end(`\r\n--${BOUNDARY}--\r\n`)
  })()
  return out
}

async function download(gw: RunningGateway, id: string): Promise<string> {
  const hash = createHash('sha256')
  await new Promise<void>((resolve, reject) => {
    const req = request(`${gw.httpUrl}/api/v1/files/${id}`, { headers: { 'mx-api-token': gw.token } })
    req.once('response', (res) => {
      if (res.statusCode !== 200) reject(new Error(`download answered ${res.statusCode}`))
      res.on('data', (c: Buffer) => hash.update(c))
      res.on('end', resolve)
      res.on('error', reject)
    })
    req.once('error', reject)
    req.end()
  })
  return hash.digest('hex')
}

async function makeFile(dir: string): Promise<{ path: string; sha256: string; bytes: number }> {
  const path = join(dir, 'big.bin')
  const handle = await open(path, 'w')
  const hash = createHash('sha256')
  for (let i = 0; i < MIB; i++) {
    const chunk = randomBytes(1_048_576)
    hash.update(chunk)
    await handle.write(chunk)
  }
  await handle.close()
  return { path, sha256: hash.digest('hex'), bytes: (await stat(path)).size }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const f1 = (x: number) => x.toFixed(1)

async function main(): Promise<void> {
  installCleanupHandlers()
  const dir = await tempDir('bg-bench-files-')
  const file = await makeFile(dir)
  const gw = await startGatewayProcess(REPO, { example: false, timeoutMs: 60_000 })
  try {
    await new Promise((r) => setTimeout(r, 1000))
    const idle = rssKiB(gw.pid) ?? 0
    const rows: Record<string, Sample[]> = { 'upload (raw body)': [], 'upload (multipart)': [], download: [] }
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ['raw', 'multipart'] as const) {
        let id = ''
        const s = await sampled(gw.pid, file.bytes, async () => {
          const res =
            kind === 'raw'
              ? await send(
                  gw,
                  '/api/v1/files?name=big.bin',
                  { 'content-type': 'application/octet-stream', 'content-length': String(file.bytes) },
                  createReadStream(file.path),
                )
              : await send(
                  gw,
                  '/api/v1/files',
                  { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
                  multipartOf(file.path),
                )
          if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${res.text}`)
          const view = JSON.parse(res.text) as { id: string; sha256: string }
          if (view.sha256 !== file.sha256) throw new Error('upload: SHA-256 differs')
          id = view.id
        })
        rows[kind === 'raw' ? 'upload (raw body)' : 'upload (multipart)']?.push(s)
        process.stderr.write(
          `round ${round + 1} upload ${kind}: ${f1(s.mibPerSec)} MiB/s, RSS max ${f1(s.rssMaxMiB)} MiB\n`,
        )
        const d = await sampled(gw.pid, file.bytes, async () => {
          if ((await download(gw, id)) !== file.sha256) throw new Error('download: SHA-256 differs')
        })
        rows.download?.push(d)
        process.stderr.write(
          `round ${round + 1} download: ${f1(d.mibPerSec)} MiB/s, RSS max ${f1(d.rssMaxMiB)} MiB\n`,
        )
        await new Promise<void>((resolve, reject) => {
          const req = request(`${gw.httpUrl}/api/v1/files/${id}`, {
            method: 'DELETE',
            headers: { 'mx-api-token': gw.token },
          })
          req.once('response', (res) => {
            res.resume()
            res.on('end', resolve)
          })
          req.once('error', reject)
          req.end()
        })
      }
    }
    console.log(
      `${MIB} MiB file, ${ROUNDS} rounds (download measured after each upload), ${cpuModel()}, Node ${process.version}`,
    )
    console.log(`gateway RSS when idle: ${f1(idle / 1024)} MiB\n`)
    console.log(
      '| transfer | median MiB/s | min–max MiB/s | gateway RSS before → max → after (MiB, median) |',
    )
    console.log('| --- | --- | --- | --- |')
    for (const [name, samples] of Object.entries(rows)) {
      const rates = samples.map((s) => s.mibPerSec)
      console.log(
        `| ${name} | ${f1(median(rates))} | ${f1(Math.min(...rates))}–${f1(Math.max(...rates))} | ${f1(median(samples.map((s) => s.rssBeforeMiB)))} → ${f1(median(samples.map((s) => s.rssMaxMiB)))} → ${f1(median(samples.map((s) => s.rssAfterMiB)))} |`,
      )
    }
  } finally {
    await gw.stop()
    await rm(dir, { recursive: true, force: true })
    await cleanupAll()
  }
}

await main()
