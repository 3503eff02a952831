/**
 * A structure-aware, seeded fuzzer of the JSON depth budget (wire-protocol.md §8.9) against a gateway running as its
 * own process, with a real bundle (in this process, on the gateway's broker): deep nesting (arrays, objects, mixed,
 * just under, at and over the limit, and thousands deep), wide objects, long strings, odd numbers (1e400, -0, huge
 * integers, 0.1e-400), unicode (lone surrogates, NUL, RTL, emoji), duplicate keys, `__proto__`/`constructor` keys.
 * Every value is sent over MQTT (as an event, a request with a tunnel, a registration) and over HTTP (PUT/POST body,
 * query and path). The generators know the depth they built, so the expected answer does not come from the code
 * under test: a request is answered 400 `payload too deep` exactly when its data nests over 64, else by the bundle;
 * a body over 64 is 400 `GW_ERR_JSON_TOO_DEEP`, else the bundle's 200. Every 100 cases, and at the end, the gateway
 * process must be alive and answer a normal request through the bundle. FUZZ_SEED replays a run; FUZZ_CASES sets the
 * count (2,000 by default).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { MAX_REGISTRATION_BYTES } from '../../src/controller/registration-shape.ts'
import { silentLogger } from '../../src/logger.ts'
import { createBundle } from '../../src/sdk/index.ts'
import { lifo } from '../helpers/gateway.ts'
import { type GatewayProcess, startGatewayProcess } from '../helpers/gateway-child.ts'
import { pick, prng } from '../helpers/prng.ts'
import { mqttConnect, requestId, within } from '../helpers/processes.ts'

const LIMIT = 64

/** A generated JSON text and the depth it nests (0 for scalars), known by construction. */
interface Gen {
  text: string
  depth: number
}

const ODD_NUMBERS = [
  '1e400',
  '-1e400',
  '-0',
  '0.1e-400',
  '123456789012345678901234567890',
  '1E+2',
  '-0.0e0',
  '9007199254740993',
]
const ODD_STRINGS = [
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\u202eevil\u202c"',
  '"😀👩‍👩‍👧"',
  '"[[[{{{"',
  '"\\"]]]}}}"',
  '"\\\\"',
  '"ü✓"',
  '""',
]
const KEYS = ['a', 'data', '__proto__', 'constructor', 'prototype', 'toString', '', '\u0000', '😀', 'id']

function scalar(r: () => number): Gen {
  const k = Math.floor(r() * 5)
  if (k === 0) return { text: pick(r, ODD_NUMBERS), depth: 0 }
  if (k === 1) return { text: pick(r, ODD_STRINGS), depth: 0 }
  if (k === 2) return { text: pick(r, ['null', 'true', 'false', '0', '1.5']), depth: 0 }
  if (k === 3) {
    // a lone surrogate written raw (becomes U+FFFD on the wire) and a long string
    const raw = `"\ud800${'x'.repeat(Math.floor(r() * 2000))}"`
    return { text: raw, depth: 0 }
  }
  return { text: `"${'y'.repeat(Math.floor(r() * 100_000))}"`, depth: 0 }
}

/** A depth near the limit, or far beyond it. */
function depthNearLimit(r: () => number): number {
  const roll = r()
  if (roll < 0.6) return LIMIT - 2 + Math.floor(r() * 5) // 62 … 66
  if (roll < 0.8) return Math.floor(r() * LIMIT)
  return LIMIT + Math.floor(r() * 10_000)
}

/** Nesting `depth` levels of arrays, objects (with odd keys) or both, around `inner`. */
function nested(r: () => number, depth: number, inner: Gen): Gen {
  const style = pick(r, ['array', 'object', 'mixed'] as const)
  const open: string[] = []
  const close: string[] = []
  for (let i = 0; i < depth; i++) {
    const obj = style === 'object' || (style === 'mixed' && r() < 0.5)
    if (obj) {
      const key = JSON.stringify(pick(r, KEYS))
      // sometimes a duplicate key before the nested one
      open.push(r() < 0.1 ? `{${key}:1,${key}:` : `{${key}:`)
      close.push('}')
    } else {
      open.push(r() < 0.1 ? '[0,' : '[')
      close.push(']')
    }
  }
  return { text: open.join('') + inner.text + close.reverse().join(''), depth: depth + inner.depth }
}

function wide(r: () => number): Gen {
  const n = 1 + Math.floor(r() * 3000)
  const parts: string[] = []
  for (let i = 0; i < n; i++) parts.push(`${JSON.stringify(`${pick(r, KEYS)}${i % 7 === 0 ? '' : i}`)}:${i}`)
  return { text: `{${parts.join(',')}}`, depth: 1 }
}

function value(r: () => number): Gen {
  const k = r()
  if (k < 0.55) return nested(r, depthNearLimit(r), r() < 0.7 ? scalar(r) : { text: '[]', depth: 1 })
  if (k < 0.7) return wide(r)
  if (k < 0.8) {
    // duplicate keys, the deep one first or last
    const d = nested(r, depthNearLimit(r), { text: '1', depth: 0 })
    return r() < 0.5
      ? { text: `{"k":${d.text},"k":2}`, depth: d.depth + 1 }
      : { text: `{"k":2,"k":${d.text}}`, depth: d.depth + 1 }
  }
  if (k < 0.9) {
    const inner = nested(r, Math.floor(r() * 5), scalar(r))
    return {
      text: `{"__proto__":${inner.text},"constructor":{"prototype":{"polluted":true}}}`,
      depth: Math.max(inner.depth + 1, 3),
    }
  }
  return scalar(r)
}

async function http(gw: GatewayProcess, method: string, path: string, body?: string) {
  const res = await fetch(`${gw.httpUrl}/api/v1${path}`, {
    method,
    headers: {
      'mx-api-token': gw.rootToken,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await res.text()
  return { status: res.status, text }
}

/** Publishes on /controller and resolves with the answer for `id` on `tunnel`. */
function ask(
  client: MqttClient,
  tunnel: string,
  id: number,
  payload: string,
): Promise<Record<string, unknown>> {
  const answer = new Promise<Record<string, unknown>>((resolve) => {
    const onMessage = (t: string, p: Buffer) => {
      if (t !== tunnel) return
      const m = JSON.parse(p.toString()) as Record<string, unknown>
      if (m.id !== id) return
      client.off('message', onMessage)
      resolve(m)
    }
    client.on('message', onMessage)
  })
  return within(
    client.publishAsync('/controller', payload, { qos: 1 }).then(() => answer),
    10_000,
    `the answer to id ${id}`,
  )
}

test('2,000 seeded structure-aware JSON cases over MQTT and HTTP: the gateway process stays up and answers as the budget says', {
  timeout: 600_000,
}, async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261204)
  const cases = Number(process.env.FUZZ_CASES ?? 2000)
  t.diagnostic(`seed ${seed} (FUZZ_SEED=${seed} replays this run), ${cases} cases`)
  const r = prng(seed)
  const defer = lifo(t)
  const dataDir = await mkdtemp(join(tmpdir(), 'bg-json-fuzz-'))
  defer(() => rm(dataDir, { recursive: true, force: true }))
  // the fuzzer registers far faster than a bundle may (§8.9 [WP-63]): its client gets a bucket that never runs dry
  const gw = await startGatewayProcess(dataDir, false, defer, {
    controller: { registrationsPerSec: 10_000, registrationBurst: 10_000 },
  })
  let reached = 0
  const bundle = createBundle({
    manifest: {
      name: 'fz',
      version: '1',
      description: 'fuzz target',
      role: 'model',
      ttl: 5,
      resources: [{ resource: '/fz' }, { resource: '/fz/:x' }],
    },
    brokerUrl: gw.brokerUrl,
    logger: silentLogger(),
    signals: false,
  })
  bundle.route({ resource: '/fz' }, () => {
    reached++
    return { ok: true }
  })
  bundle.route({ resource: '/fz/:x' }, (m) => ({ x: m.param.x ?? null, q: Object.keys(m.query).length }))
  await bundle.start()
  defer(() => bundle.stop())
  const c = await mqttConnect(gw.brokerUrl)
  if (!('client' in c)) assert.fail(`CONNACK ${c.refused}`)
  const client = c.client
  defer(() => client.end(true))
  const tunnel = randomBytes(16).toString('hex')
  await client.subscribeAsync(tunnel, { qos: 1 })

  const counts = { event: 0, request: 0, registration: 0, body: 0, query: 0, tooDeep: 0, passed: 0 }
  const healthy = async (when: string) => {
    gw.assertAlive(when)
    const h = await http(gw, 'GET', '/fz/health')
    assert.equal(h.status, 200, `GET /fz/health ${when}: ${h.text}`)
  }
  for (let i = 0; i < cases; i++) {
    const v = value(r)
    const where = `case ${i} (seed ${seed})`
    const over = v.depth > LIMIT
    try {
      const channel = pick(r, ['event', 'request', 'registration', 'body', 'query'] as const)
      counts[channel]++
      if (over) counts.tooDeep++
      else counts.passed++
      if (channel === 'event') {
        await client.publishAsync('/controller', `{"method":"put","resource":"/fz","data":${v.text}}`, {
          qos: 1,
        })
      } else if (channel === 'request') {
        const id = requestId()
        const extra = r() < 0.2 ? ',"__proto__":{"x":1},"constructor":"c"' : ''
        const m = await ask(
          client,
          tunnel,
          id,
          `{"id":${id},"method":"${pick(r, ['get', 'put', 'post'])}","resource":"/fz","tunnel":"${tunnel}"${extra},"data":${v.text}}`,
        )
        if (over) {
          assert.equal(m.code, 400, `${where}: ${JSON.stringify(m).slice(0, 300)}`)
          assert.equal((m.data as { message?: string }).message, 'payload too deep')
        } else {
          assert.equal(m.code, 200, `${where}: ${JSON.stringify(m).slice(0, 300)}`)
        }
      } else if (channel === 'registration') {
        const id = requestId()
        const name = `fzv${i}`
        const data = `{"name":"${name}","description":"d","role":"view","ttl":5,"resources":["/fzv/${i}"],"schema":${v.text}}`
        const m = await ask(
          client,
          tunnel,
          id,
          `{"id":${id},"method":"post","resource":"/controller/registration","tunnel":"${tunnel}","data":${data}}`,
        )
        const deep = v.depth + 1 > LIMIT // the registration data object adds a level
        // §8.9: a registration's data is at most MAX_REGISTRATION_BYTES as the controller serialises it
        const big = !deep && Buffer.byteLength(JSON.stringify(JSON.parse(data))) > MAX_REGISTRATION_BYTES
        assert.equal(m.code, deep || big ? 400 : 200, `${where}: ${JSON.stringify(m).slice(0, 300)}`)
        if (!deep && !big) {
          const del = requestId()
          const d = await ask(
            client,
            tunnel,
            del,
            `{"id":${del},"method":"delete","resource":"/controller/registration/${name}","tunnel":"${tunnel}"}`,
          )
          assert.equal(d.code, 200)
        }
      } else if (channel === 'body') {
        const res = await http(gw, pick(r, ['PUT', 'POST']), '/fz', v.text)
        const body = JSON.parse(res.text) as { code?: string }
        if (over) {
          assert.equal(res.status, 400, `${where}: ${res.text.slice(0, 300)}`)
          assert.equal(body.code, 'GW_ERR_JSON_TOO_DEEP')
        } else {
          assert.equal(res.status, 200, `${where}: ${res.text.slice(0, 300)}`)
        }
      } else {
        // query and path: text, never parsed as JSON; any answer is JSON and not a 5xx
        // as a client sends it: UTF-8, a lone surrogate becoming U+FFFD
        const wellFormed = (s: string) => Buffer.from(s).toString()
        const q = encodeURIComponent(wellFormed(v.text.slice(0, 3000)))
        const seg = encodeURIComponent(wellFormed(v.text.slice(0, 200)))
        const res = await http(gw, 'GET', `/fz/${seg}?q=${q}&${q.slice(0, 50)}=1&__proto__=x`)
        assert.ok(res.status < 500, `${where}: ${res.status} ${res.text.slice(0, 300)}`)
        const body = JSON.parse(res.text) as { message?: unknown; code?: unknown }
        if (res.status >= 400)
          assert.ok(typeof body.message === 'string' && typeof body.code === 'string', where)
      }
    } catch (err) {
      gw.assertAlive(where)
      throw new Error(
        `${where}, value depth ${v.depth}, ${v.text.length} characters: ${(err as Error).message}`,
        {
          cause: err,
        },
      )
    }
    if (i % 100 === 99) await healthy(`after ${where}`)
  }
  await healthy('at the end')
  t.diagnostic(`channels ${JSON.stringify(counts)}; the bundle was reached ${reached} times`)
  assert.ok(
    counts.tooDeep > cases / 10 && counts.passed > cases / 10,
    'both sides of the limit were exercised',
  )
})
