/**
 * End to end: "kill -9 during a PUT never loses the previous config". The example bundle runs as a real process;
 * bursts of large PUTs arrive over MQTT and the process is SIGKILLed at a varied small delay. After every kill,
 * data/example.json must parse and be exactly one of the payloads sent, or the previous good content.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import mqtt from 'mqtt'
import type { Envelope, JsonObject } from '../../src/protocol/index.ts'
import { lifo, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { copyExampleDir, requestId, spawnExample, within } from '../helpers/processes.ts'

const MIN_ITERATIONS = 20
const MAX_ITERATIONS = 60
/** More iterations only while the loop has run less than this. */
const BUDGET_MS = 25_000
const BURST = 6
const PAD_BYTES = 100 * 1024
const TEMP = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/

function payload(n: number): JsonObject {
  const fill = String.fromCharCode(97 + (n % 26))
  return { key: `v${n}`, pad: `${n}:`.padEnd(PAD_BYTES, fill), n }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

test('kill -9 during a PUT never loses the previous config (data/example.json is always one complete version)', {
  timeout: 180_000,
}, async (t) => {
  const cleanup = lifo(t)
  const gateway = await startTestGateway()
  cleanup(() => gateway.close())
  const dir = await copyExampleDir()
  cleanup(() => rm(dir, { recursive: true, force: true }))
  const dataDir = join(dir, 'data')
  const file = join(dataDir, 'example.json')

  // One raw peer for every burst: its connection stays open, the answers come back on its reply tunnel.
  const tunnel = randomBytes(16).toString('hex')
  const caller = await mqtt.connectAsync(gateway.brokerUrl, {
    clientId: `e2e-burst-${randomBytes(4).toString('hex')}`,
    reconnectPeriod: 0,
    protocolVersion: 4,
  })
  cleanup(() => caller.endAsync())
  const answers = new Map<number, number>() // request id → code
  const allIds: number[] = []
  caller.on('message', (topic, buf) => {
    if (topic !== tunnel) return
    const msg = JSON.parse(buf.toString()) as Envelope
    if (typeof msg.id === 'number' && typeof msg.code === 'number') answers.set(msg.id, msg.code)
  })
  await caller.subscribeAsync(tunnel, { qos: 1 })

  let previous: unknown = { key: 'value' } // the factory content, until the first start says otherwise
  let n = 0
  const stats = {
    iterations: 0,
    unchanged: 0,
    changed: 0,
    midWrite: 0, // a temp file of the killed process was left behind: the kill landed between open and rename
    savedUnanswered: 0, // the file holds a payload whose 200 never came back: killed after the rename
    answered200: 0,
    maxTemps: 0,
    registrationMs: [] as number[],
  }
  const loopStart = Date.now()
  while (
    stats.iterations < MIN_ITERATIONS ||
    (stats.iterations < MAX_ITERATIONS && Date.now() - loopStart < BUDGET_MS)
  ) {
    const i = stats.iterations
    const bundle = spawnExample({ brokerUrl: gateway.brokerUrl, dir })
    cleanup(() => bundle.stop())
    await bundle.ready
    stats.registrationMs.push(Date.now() - bundle.spawnedAt)

    // The previous start swept the temp files of dead writers: nothing stale may pile up.
    const entries = await readdir(dataDir)
    const temps = entries.filter((e) => TEMP.test(e))
    stats.maxTemps = Math.max(stats.maxTemps, temps.length)
    for (const e of temps) {
      const pid = Number(TEMP.exec(e)?.[2])
      assert.ok(
        isRunning(pid),
        `iteration ${i}: stale temp file ${e} of dead process ${pid} survived a start`,
      )
    }
    assert.deepEqual(
      entries.filter((e) => e.includes('.corrupt-')),
      [],
      `iteration ${i}: no file was ever found broken`,
    )
    assert.doesNotMatch(bundle.output(), /recovered from/, `iteration ${i}: no recovery was needed`)
    // What the new process loaded is what was on disk.
    const current = JSON.parse(await readFile(file, 'utf8')) as unknown
    assert.deepEqual(current, previous, `iteration ${i}: the file is what the last check saw`)

    // A burst of large PUTs, not awaited, then SIGKILL after 0–30 ms.
    const sent = new Map<number, JsonObject>() // request id → payload
    for (let k = 0; k < BURST; k++) {
      const p = payload(++n)
      const id = requestId()
      sent.set(id, p)
      const request = { id, method: 'put', resource: '/example', data: p, tunnel }
      caller.publish('/controller', JSON.stringify(request), { qos: 1 })
    }
    const delay = (i * 7) % 31
    await new Promise((r) => setTimeout(r, delay))
    bundle.kill('SIGKILL')
    const exit = await within(bundle.exited, 10_000, 'the killed bundle to exit')
    assert.equal(exit.signal, 'SIGKILL')

    const left = (await readdir(dataDir)).filter((e) => TEMP.test(e) && e.includes(`.${bundle.child.pid}.`))
    if (left.length > 0) stats.midWrite++

    const text = await readFile(file, 'utf8')
    assert.notEqual(text.trim(), '', `iteration ${i} (kill after ${delay} ms): data/example.json is empty`)
    let parsed: unknown
    assert.doesNotThrow(() => {
      parsed = JSON.parse(text)
    }, `iteration ${i} (kill after ${delay} ms): data/example.json is not valid JSON (${text.length} bytes)`)
    const match = [...sent.entries()].find(([, p]) => p.n === (parsed as { n?: unknown }).n)
    if (match) {
      assert.deepEqual(parsed, match[1], `iteration ${i}: the file is one complete payload`)
      stats.changed++
      if (answers.get(match[0]) !== 200) stats.savedUnanswered++
    } else {
      assert.deepEqual(parsed, previous, `iteration ${i}: the file is a sent payload or the previous content`)
      stats.unchanged++
    }
    for (const id of sent.keys()) {
      allIds.push(id)
      if (answers.get(id) === 200) stats.answered200++
    }
    previous = parsed
    stats.iterations++
  }

  // One last start sweeps the temps of the last kill; then a clean stop.
  const last = spawnExample({ brokerUrl: gateway.brokerUrl, dir })
  cleanup(() => last.stop())
  await last.ready
  const finalTemps = (await readdir(dataDir)).filter((e) => TEMP.test(e))
  assert.deepEqual(
    finalTemps.filter((e) => !isRunning(Number(TEMP.exec(e)?.[2]))),
    [],
    'no stale temp files',
  )
  last.kill('SIGTERM')
  assert.equal((await within(last.exited, 10_000, 'the last bundle to exit')).code, 0)
  assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), previous)

  // [WP-42][WP-43] every PUT got an answer: 200, or 503 once its bundle was gone (none is left to a ttl).
  await waitFor(() => allIds.every((id) => answers.has(id)), 5000, 'an answer to every PUT').catch(() => {})
  const codes = new Map<string, number>()
  for (const id of allIds) {
    const code = String(answers.get(id) ?? 'none')
    codes.set(code, (codes.get(code) ?? 0) + 1)
  }
  const histogram = [...codes].map(([code, count]) => `${code}: ${count}`).join(', ')
  t.diagnostic(`answers to the PUTs: ${histogram}`)
  assert.deepEqual(
    allIds.filter((id) => answers.get(id) !== 200 && answers.get(id) !== 503),
    [],
    `every PUT is answered 200 or 503 (${histogram})`,
  )

  const reg = stats.registrationMs.toSorted((a, b) => a - b)
  t.diagnostic(
    `iterations ${stats.iterations} in ${Date.now() - loopStart} ms, ${n} PUTs of ~${PAD_BYTES >> 10} KB`,
  )
  t.diagnostic(`file changed by the burst: ${stats.changed}, unchanged: ${stats.unchanged}`)
  t.diagnostic(`kills mid-write (temp file left behind): ${stats.midWrite}`)
  t.diagnostic(`kills after the rename but before the answer: ${stats.savedUnanswered}`)
  t.diagnostic(`PUTs answered 200 before the kill: ${stats.answered200}`)
  t.diagnostic(`temp files seen after a start: at most ${stats.maxTemps}`)
  t.diagnostic(
    `spawn to registration: min ${reg[0]} ms, median ${reg[reg.length >> 1]} ms, max ${reg[reg.length - 1]} ms`,
  )
})
