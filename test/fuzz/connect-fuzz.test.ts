/**
 * Seeded random CONNECT packets (protocol name and level, flags, odd strings) to the embedded broker and to a real
 * mosquitto 2.0 on free loopback ports: both must answer alike (CONNACK code, closed or not), except where
 * docs/protocol.md ("Connect-path conformance of the embedded broker") lists a known difference. Replay a failure with
 * FUZZ_SEED.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type EmbeddedBroker, startBroker } from '../../src/broker/index.ts'
import { lifo } from '../helpers/gateway.ts'
import { pick, prng } from '../helpers/prng.ts'
import { type Mosquitto, startMosquitto } from '../helpers/processes.ts'
import { connectPacket, type RawConnect, rawExchange } from '../helpers/raw-mqtt.ts'

const CASES = 400
const STRINGS: Array<string | Buffer> = [
  '',
  'abc',
  'a b',
  'x'.repeat(23),
  'x'.repeat(129),
  'é',
  '\u{1F600}',
  '\uFEFF',
  'a\u0001',
  'a\u0000',
  Buffer.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate, ill-formed in UTF-8
  Buffer.from([0xc0, 0x80]), // an overlong U+0000
]
const TOPICS = ['w', '/a/b', 'a/+', 'a/#', '', '$SYS/x', 'w\u0001', 'x'.repeat(1000)]

function randomConnect(r: () => number): RawConnect {
  const c: RawConnect = {
    protocolName: pick(r, ['MQTT', 'MQTT', 'MQTT', 'MQIsdp', 'mqtt', '']),
    level: pick(r, [4, 4, 4, 3, 0, 2]),
    clean: r() < 0.5,
    clientId: pick(r, STRINGS),
    keepalive: pick(r, [0, 60, 65535]),
    reserved: r() < 0.05,
  }
  if (r() < 0.4) c.will = { topic: pick(r, TOPICS), qos: pick(r, [0, 1, 2, 3]), retain: r() < 0.5 }
  if (r() < 0.4) c.username = pick(r, ['u', '', 'é', 'u\u0001'])
  if (r() < 0.3) c.password = pick(r, ['p', ''])
  return c
}

/** The differences docs/protocol.md documents, or undefined when both brokers must answer alike. */
function knownDifference(c: RawConnect): string | undefined {
  const level = c.level ?? 4
  if (level !== 3 && level !== 4)
    return 'unknown protocol level: mosquitto answers CONNACK 1, mqtt-packet closes'
  const name = c.protocolName ?? 'MQTT'
  const validName = name === 'MQTT' || name === 'MQIsdp'
  const matched = (level === 4 && name === 'MQTT') || (level === 3 && name === 'MQIsdp')
  if (c.reserved && validName && !matched)
    return 'reserved flag and mismatched name: mosquitto answers CONNACK 1'
  if (c.reserved && level === 3 && matched) return 'MQTT 3.1 with the reserved flag: mosquitto accepts'
  const id = c.clientId ?? ''
  if (typeof id === 'string' && id.length > 128) return 'client id over 128 characters: ours refuses'
  return undefined
}

let broker: EmbeddedBroker
let mosquitto: Mosquitto | undefined
const cleanup = lifo({ after })
before(async () => {
  broker = await startBroker({ port: 0 })
  cleanup(() => broker.close())
  mosquitto = await startMosquitto()
  const m = mosquitto
  if (m) cleanup(() => m.close())
})

test(`${CASES} seeded random CONNECTs: the embedded broker answers as mosquitto 2.0 does (known differences aside)`, {
  timeout: 120_000,
}, async (t) => {
  if (!mosquitto) {
    if (process.env.CI === 'true') assert.fail('mosquitto not installed (CI must install it: see .ci/run)')
    return t.skip('mosquitto not installed')
  }
  const seed = Number(process.env.FUZZ_SEED ?? 20261204)
  const r = prng(seed)
  let compared = 0
  for (let i = 0; i < CASES; i++) {
    const c = randomConnect(r)
    const packet = connectPacket(c)
    const ours = await rawExchange(broker.port, packet, { ms: 2000 })
    const theirs = await rawExchange(mosquitto.port, packet, { ms: 2000 })
    if (knownDifference(c)) continue
    compared++
    const outcome = (o: typeof ours) => ({ connack: o.connack, closed: o.closed })
    assert.deepEqual(
      outcome(ours),
      outcome(theirs),
      `seed ${seed}, case ${i}: ${packet.toString('hex').slice(0, 200)}\n${JSON.stringify(c).slice(0, 300)}`,
    )
  }
  t.diagnostic(`${compared} of ${CASES} compared (the rest are documented differences)`)
  assert.ok(compared > CASES / 3, 'most cases are compared')
  // the broker is still there and serves a plain CONNECT
  assert.equal((await rawExchange(broker.port, connectPacket({ clientId: 'after-fuzz' }))).connack, 0)
})
