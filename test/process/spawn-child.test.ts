/**
 * src/process/spawn-child.ts: the child is the program itself (setpriv exec()s it), gets the lifeline on fd 3,
 * falls back cleanly without setpriv, reports a missing program as Node's ENOENT, and stopChild escalates to
 * SIGKILL for a child that ignores SIGTERM.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { test } from 'node:test'
import { deathSignalLauncher, PARENT_FD_ENV, spawnChild, stopChild } from '../../src/process/index.ts'

function output(child: ChildProcess): Promise<string> {
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  return new Promise((resolve) => child.once('close', () => resolve(out)))
}

const PROBE = `
const fs = require('node:fs')
let lifeline = false
try { lifeline = fs.fstatSync(Number(process.env.${PARENT_FD_ENV})).isSocket() } catch {}
console.log(JSON.stringify({ pid: process.pid, env: process.env.${PARENT_FD_ENV}, lifeline }))
`

test('the child is the program itself, with the lifeline on fd 3 and BUNDLEGATE_PARENT_FD=3', async () => {
  const child = spawnChild(process.execPath, ['-e', PROBE])
  const got = JSON.parse(await output(child)) as { pid: number; env: string; lifeline: boolean }
  assert.equal(got.pid, child.pid, 'setpriv exec()s the program: same pid, signals reach it directly')
  assert.equal(got.env, '3')
  assert.equal(got.lifeline, true)
})

test('setpriv, when there, really sets the death signal (PR_SET_PDEATHSIG = SIGKILL)', async (t) => {
  if (deathSignalLauncher() === undefined) {
    t.skip('setpriv --pdeathsig is not available here')
    return
  }
  // `setpriv --dump` prints the death signal of the process it runs in: here, the child itself
  const child = spawnChild('setpriv', ['--dump'])
  const dump = await output(child)
  assert.match(dump, /Parent death signal: (KILL|9)/i, dump)
})

test('BUNDLEGATE_SETPRIV=none or a broken setpriv: children start without it, still with the lifeline', async (t) => {
  const saved = process.env.BUNDLEGATE_SETPRIV
  t.after(() => {
    if (saved === undefined) delete process.env.BUNDLEGATE_SETPRIV
    else process.env.BUNDLEGATE_SETPRIV = saved
  })
  for (const value of ['none', '/bin/false']) {
    process.env.BUNDLEGATE_SETPRIV = value
    assert.equal(deathSignalLauncher(), undefined, value)
    const child = spawnChild(process.execPath, ['-e', PROBE])
    const got = JSON.parse(await output(child)) as { pid: number; lifeline: boolean }
    assert.equal(got.pid, child.pid)
    assert.equal(got.lifeline, true)
  }
})

test('a program that does not exist is an ENOENT error event, as with spawn (not setpriv exit code 127)', async () => {
  const child = spawnChild('bundlegate-no-such-program', [])
  const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve))
  assert.equal(err.code, 'ENOENT')
})

test('stopChild: SIGTERM, then SIGKILL after the timeout for a child that ignores SIGTERM', async () => {
  const child = spawnChild(process.execPath, [
    '-e',
    "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)",
  ])
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()))
  const ended = await stopChild(child, 300)
  assert.equal(ended.signal, 'SIGKILL')
  const polite = spawnChild(process.execPath, ['-e', "console.log('up'); setInterval(() => {}, 1000)"])
  await new Promise<void>((resolve) => polite.stdout?.once('data', () => resolve()))
  assert.equal((await stopChild(polite, 10_000)).signal, 'SIGTERM')
  assert.deepEqual(await stopChild(polite), { code: null, signal: 'SIGTERM' }, 'an ended child: at once')
})
