/**
 * A managed bundle's log (issue 15 "Logs"): lines with time and stream, rotation by size and count, tail across the
 * rotated files, partial and over-long lines, the rate cap and its dropped count under a flood of 200,000 lines,
 * a bounded queue, live follow, escaping of forged newlines and ANSI sequences, and a full disk that only counts.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { after, test } from 'node:test'
import { BundleLog, MAX_TAIL_LINES } from '../../src/manager/bundle-log.ts'
import type { LogLine } from '../../src/manager/types.ts'
import { waitFor } from '../helpers/gateway.ts'
import { smallFsOrSkip } from '../reliability/small-fs.ts'

const base = await mkdtemp(join(tmpdir(), 'bg-bundle-log-'))
after(() => rm(base, { recursive: true, force: true }))
let n = 0
const fileName = (): string => join(base, `log-${n++}`, 'bundle.log')
const UNCAPPED = { linesPerSec: 1e9, burst: 1e9 }

function lines(from: number, count: number, pad = 40): Buffer {
  let s = ''
  for (let i = from; i < from + count; i++) s += `line ${String(i).padStart(6, '0')} ${'x'.repeat(pad)}\n`
  return Buffer.from(s)
}

async function filesOf(file: string): Promise<string[]> {
  const dir = join(file, '..')
  return (await readdir(dir)).sort()
}

test('one line per entry on disk: ISO time, stream, text', async () => {
  const file = fileName()
  const log = new BundleLog({ file, maxBytes: 4096, files: 2, ...UNCAPPED, now: () => Date.UTC(2026, 11, 4) })
  log.write('stdout', Buffer.from('hello\n'))
  log.write('stderr', Buffer.from('oops\r\n'))
  log.note('started pid 42')
  await log.close()
  assert.equal(
    await readFile(file, 'utf8'),
    '2026-12-04T00:00:00.000Z stdout hello\n' +
      '2026-12-04T00:00:00.000Z stderr oops\n' +
      '2026-12-04T00:00:00.000Z manager started pid 42\n',
  )
})

test('rotation: every file at most maxBytes, at most `files` of them, tail across them oldest first', async () => {
  const file = fileName()
  const log = new BundleLog({ file, maxBytes: 4096, files: 3, ...UNCAPPED })
  for (let i = 0; i < 1000; i += 50) log.write('stdout', lines(i, 50))
  const all = await log.tail(MAX_TAIL_LINES)
  await log.close()
  assert.deepEqual(await filesOf(file), ['bundle.log', 'bundle.log.1', 'bundle.log.2'])
  for (const f of await filesOf(file)) {
    const size = (await stat(join(file, '..', f))).size
    assert.ok(size <= 4096 && size > 2048, `${f}: ${size} bytes`)
  }
  // contiguous, ending at the last line written, and more than one file's worth
  const seq = all.map((l) => Number(/^line (\d+)/.exec(l.line)![1]))
  assert.equal(seq.at(-1), 999)
  assert.ok(seq.length > 4096 / 80, `${seq.length} lines`)
  for (const [i, v] of seq.entries()) assert.equal(v, seq[0]! + i)
  const reopened = new BundleLog({ file, maxBytes: 4096, files: 3, ...UNCAPPED })
  const last = await reopened.tail(70)
  assert.equal(last.length, 70, 'tail(70) spans the current and the rotated file')
  assert.deepEqual(
    last.map((l) => l.line),
    all.slice(-70).map((l) => l.line),
  )
  await reopened.close()
})

test('a reopened log keeps counting the size of the file it appends to', async () => {
  const file = fileName()
  for (let round = 0; round < 4; round++) {
    const log = new BundleLog({ file, maxBytes: 2000, files: 2, ...UNCAPPED })
    log.write('stdout', lines(round * 20, 20))
    await log.close()
  }
  for (const f of await filesOf(file)) assert.ok((await stat(join(file, '..', f))).size <= 2000, f)
  assert.deepEqual(await filesOf(file), ['bundle.log', 'bundle.log.1'])
})

test('partial lines wait for their newline, and are logged at close', async () => {
  const file = fileName()
  const log = new BundleLog({ file, maxBytes: 1 << 20, files: 2, ...UNCAPPED })
  log.write('stdout', Buffer.from('hel'))
  log.write('stderr', Buffer.from('err'))
  log.write('stdout', Buffer.from('lo\nwor'))
  log.write('stdout', Buffer.from('ld\n\nlast'))
  log.write('stderr', Buffer.from('or\n'))
  assert.deepEqual(
    (await log.tail(10)).map((l) => `${l.stream}:${l.line}`),
    ['stdout:hello', 'stdout:world', 'stdout:', 'stderr:error'],
  )
  await log.close()
  const reopened = new BundleLog({ file, maxBytes: 1 << 20, files: 2, ...UNCAPPED })
  assert.equal((await reopened.tail(1))[0]?.line, 'last')
  await reopened.close()
})

test('a line longer than maxLineBytes is cut, the rest of it skipped up to its newline', async () => {
  const log = new BundleLog({ file: fileName(), maxBytes: 1 << 20, files: 2, ...UNCAPPED, maxLineBytes: 100 })
  log.write('stdout', Buffer.from(`${'a'.repeat(250)}\nshort\n`))
  for (let i = 0; i < 100; i++) log.write('stdout', Buffer.from('b'.repeat(1000))) // 100 kB, no newline
  log.write('stdout', Buffer.from('bbb\nafter\n'))
  const got = (await log.tail(10)).map((l) => l.line)
  assert.deepEqual(got, [`${'a'.repeat(100)} [cut]`, 'short', `${'b'.repeat(100)} [cut]`, 'after'])
  await log.close()
})

test('forged newlines, carriage returns, ANSI escapes and line separators are escaped', async () => {
  const file = fileName()
  const log = new BundleLog({ file, maxBytes: 1 << 20, files: 2, ...UNCAPPED })
  const forged =
    'ok\r2026-01-01T00:00:00.000Z manager fake line \u001b[31mred\u001b[0m \u2028 \u0000 \u009b\n'
  log.write('stdout', Buffer.from(forged))
  log.note('from the manager\nsecond 2026-01-01T00:00:00.000Z manager forged')
  await log.close()
  const text = await readFile(file, 'utf8')
  const disk = text.split('\n').filter(Boolean)
  assert.equal(disk.length, 2, text)
  assert.match(
    disk[0]!,
    /stdout ok\\x0d2026-01-01T00:00:00\.000Z manager fake line \\x1b\[31mred\\x1b\[0m \\u2028 \\x00 \\x9b$/,
  )
  assert.match(disk[1]!, / manager from the manager\\x0asecond /)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  assert.doesNotMatch(text.replaceAll('\n', ''), /[\u0000-\u001f\u007f-\u009f\u2028]/)
})

test('follow gets live lines (after the rate cap) until it unsubscribes', async () => {
  const log = new BundleLog({
    file: fileName(),
    maxBytes: 1 << 20,
    files: 2,
    linesPerSec: 1,
    burst: 3,
    now: () => 0,
  })
  const seen: LogLine[] = []
  const stop = log.follow((l) => seen.push(l))
  log.write('stdout', Buffer.from('a\nb\n'))
  log.write('stderr', Buffer.from('c\nd\ne\n'))
  log.note('note')
  assert.deepEqual(
    seen.map((l) => `${l.stream}:${l.line}`),
    ['stdout:a', 'stdout:b', 'stderr:c', 'manager:note'],
  )
  stop()
  log.note('unseen')
  assert.equal(seen.length, 4)
  assert.equal(log.dropped, 2)
  await log.close()
})

test('lines over the cap are counted, and a manager line says how many once a second', async () => {
  const log = new BundleLog({ file: fileName(), maxBytes: 1 << 20, files: 2, linesPerSec: 0.001, burst: 1 })
  const notes: string[] = []
  log.follow((l) => l.stream === 'manager' && notes.push(l.line))
  log.write('stdout', lines(0, 5))
  assert.equal(log.dropped, 4)
  await waitFor(() => notes.length === 1, 5000, 'the drop note')
  assert.match(notes[0]!, /^4 lines dropped by the rate cap \(0\.001\/s, burst 1\); 4 dropped in all$/)
  await log.close()
})

test('a flood of 200,000 lines: bounded files, exact dropped count, the event loop keeps turning', async (t) => {
  const file = fileName()
  let clock = 0
  const opts = { file, maxBytes: 64 * 1024, files: 3, linesPerSec: 1000, burst: 200, now: () => clock }
  const log = new BundleLog(opts)
  let followed = 0
  let noted = 0
  log.follow((l) => {
    if (l.stream === 'stdout') followed++
    const m = /^(\d+) lines? dropped/.exec(l.line)
    if (l.stream === 'manager' && m) noted += Number(m[1])
  })
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  let ticks = 0
  const ticker = setInterval(() => ticks++, 1)
  const TOTAL = 200_000
  const CHUNK = 1000
  for (let i = 0; i < TOTAL; i += CHUNK) {
    log.write('stdout', lines(i, CHUNK, 20))
    clock += 10 // 1000 lines per 10 ms: 100 times the cap
    await new Promise((r) => setImmediate(r))
  }
  await log.close()
  clearInterval(ticker)
  lag.disable()
  // 200 in the burst, then 10 per 10 ms for 199 steps
  assert.equal(followed, 200 + 199 * 10)
  assert.equal(log.dropped, TOTAL - followed)
  assert.equal(noted, log.dropped, 'the manager lines account for every dropped line')
  const names = await filesOf(file)
  assert.ok(names.length <= 3, names.join())
  let total = 0
  for (const f of names) total += (await stat(join(file, '..', f))).size
  assert.ok(total <= 3 * 64 * 1024, `${total} bytes on disk`)
  assert.ok(ticks > 0, 'timers ran while the flood was written')
  t.diagnostic(
    `flood: ${followed} logged, ${log.dropped} dropped, ${total} bytes on disk, ${ticks} 1-ms ticks, event-loop lag max ${(lag.max / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms`,
  )
})

test('a burst the disk cannot take at once: the queue stays bounded, the excess is counted', async (t) => {
  const file = fileName()
  const log = new BundleLog({ file, maxBytes: 256 * 1024, files: 2, ...UNCAPPED })
  let followed = 0
  log.follow(() => followed++)
  // 200,000 lines of ~90 bytes (18 MB) in one synchronous go: nothing can be written before it ends.
  for (let i = 0; i < 200_000; i += 1000) log.write('stdout', lines(i, 1000))
  assert.ok(log.dropped > 150_000, `${log.dropped} dropped`)
  assert.equal(followed + log.dropped, 200_000)
  await log.close()
  let total = 0
  for (const f of await filesOf(file)) total += (await stat(join(file, '..', f))).size
  assert.ok(total <= 2 * 256 * 1024)
  t.diagnostic(`burst: ${followed} lines queued (the queue holds 1 MiB), ${log.dropped} dropped`)
})

test('a full disk: lines are counted as dropped, nothing throws, writing resumes when space is back', async (t) => {
  const fs = await smallFsOrSkip(t, 256 * 1024)
  if (!fs) return
  try {
    const file = join(fs.dir, 'bundle.log')
    const log = new BundleLog({ file, maxBytes: 1 << 20, files: 2, ...UNCAPPED })
    log.write('stdout', Buffer.from('before\n'))
    assert.equal((await log.tail(1))[0]?.line, 'before')
    fs.fill()
    // the file's last page still has room for some lines: the rest fail with ENOSPC
    log.write('stdout', lines(0, 200))
    await log.tail(1)
    assert.ok(log.dropped > 100, `${log.dropped} dropped`)
    await fs.free()
    log.write('stdout', Buffer.from('after\n'))
    const got = (await log.tail(1000)).map((l) => l.line)
    assert.equal(got[0], 'before')
    assert.equal(got.at(-1), 'after')
    const complete = got.filter((l) => /^line \d{6} x{40}$/.test(l)).length
    assert.equal(complete + log.dropped, 200, 'every line is either on disk whole or counted as dropped')
    await log.close()
    assert.ok(existsSync(file))
  } finally {
    await fs.close()
  }
})
