/**
 * The bounds of `GET /api/v1/bundles/<name>/logs?follow=true` (docs/manager.md "HTTP API and CLI"): at most 16
 * followers at once (the 17th 503 `GW_ERR_MANAGER_LOG_FOLLOWERS`, a slot freed when one goes), and a reader slower
 * than the bundle writes is dropped, not buffered for: the gateway keeps answering.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { openSse, type SseClient } from '../helpers/events.ts'
import { logSink, startTestGateway, waitFor } from '../helpers/gateway.ts'
import { writeBundle } from '../helpers/managed-bundles.ts'

const parent = await mkdtemp(join(tmpdir(), 'bg-mgrfollow-'))
after(() => rm(parent, { recursive: true, force: true }))

describe('log followers are bounded', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>
  const sink = logSink('warn')

  before(async () => {
    // a high log rate, so that the flooding bundle outruns a reader that does not read
    gw = await startTestGateway({ manager: { logLinesPerSec: 2000, logBurst: 2000 } }, sink.logger)
    await gw.manager.installDirectory(
      await writeBundle(parent, { name: 'quiet', behaviour: 'chatty', lang: 'js' }),
    )
    await gw.manager.installDirectory(
      await writeBundle(parent, { name: 'flood', behaviour: 'flood', lang: 'js' }),
    )
    await waitFor(() => gw.manager.get('quiet')?.state === 'running', 20_000, 'quiet running')
    await waitFor(() => gw.manager.get('flood')?.state === 'running', 20_000, 'flood running')
  })
  after(() => gw.close())

  test('16 followers at once; the 17th gets 503 GW_ERR_MANAGER_LOG_FOLLOWERS; one gone frees its slot', async () => {
    const url = `${gw.httpUrl}/api/v1/bundles/quiet/logs?tail=1&follow=true`
    const headers = { 'mx-api-token': gw.rootToken }
    const open: SseClient[] = []
    try {
      for (let i = 0; i < 16; i++) {
        const c = await openSse(url, headers)
        open.push(c)
        assert.equal(c.status, 200, `follower ${i + 1}`)
      }
      const refused = await openSse(url, headers)
      assert.equal(refused.status, 503)
      await waitFor(() => refused.ended, 5000, 'the refusal body')
      assert.equal((JSON.parse(refused.body) as { code: string }).code, 'GW_ERR_MANAGER_LOG_FOLLOWERS')
      open.pop()?.close()
      let again: SseClient | undefined
      // the server sees the close shortly after
      for (let i = 0; i < 100 && again?.status !== 200; i++) {
        again?.close()
        if (again) await new Promise((r) => setTimeout(r, 20))
        again = await openSse(url, headers)
      }
      assert.equal(again?.status, 200)
      if (again) open.push(again)
    } finally {
      for (const c of open) c.close()
    }
  })

  test('a follower that does not read is dropped (logged), the gateway still answers', async () => {
    const port = Number(new URL(gw.httpUrl).port)
    const socket: Socket = connect(port, '127.0.0.1')
    let closed = false
    socket.on('close', () => {
      closed = true
    })
    socket.on('error', () => {})
    await new Promise<void>((r) => socket.once('connect', () => r()))
    socket.write(
      `GET /api/v1/bundles/flood/logs?tail=0&follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\nmx-api-token: ${gw.rootToken}\r\n\r\n`,
    )
    // never read: the kernel's buffers fill, then the gateway's for this client, then it is dropped
    socket.pause()
    try {
      await waitFor(
        () => sink.lines.some((l) => l.msg === 'log follower dropped: it reads too slowly'),
        60_000,
        'the drop of the slow follower',
      )
      const line = sink.lines.find((l) => l.msg === 'log follower dropped: it reads too slowly')
      assert.equal(line?.bundle, 'flood')
      assert.ok(Number(line?.buffered) > 262_144)
      const ok = await fetch(`${gw.httpUrl}/api/v1/bundles/quiet`, {
        headers: { 'mx-api-token': gw.rootToken },
      })
      assert.equal(ok.status, 200)
      socket.resume()
      await waitFor(() => closed, 10_000, 'the dropped connection to close')
    } finally {
      socket.destroy()
    }
  })
})
