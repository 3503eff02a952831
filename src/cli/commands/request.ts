import { randomBytes } from 'node:crypto'
import { createError } from '../../errors.ts'
import {
  CONTROLLER_TOPIC,
  type Envelope,
  IdGenerator,
  type Json,
  parsePayload,
} from '../../protocol/index.ts'
import { brokerUrlFromEnv } from '../../sdk/index.ts'
import { parse } from '../args.ts'
import { type CliIo, line } from '../io.ts'

const HELP = `Usage: bundlegate request <METHOD> <resource> [options]

Sends a direct request over MQTT (as a bundle would) and prints the answer.

Options:
  --data <json>       request body
  --broker <url>      broker URL (default BROKER_URL or mqtt://127.0.0.1:1883)
  --timeout <ms>      how long to wait (default 10000)`

/** `bundlegate request GET /example`: exit 0 for codes below 400, 1 otherwise. */
export async function requestCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    data: { type: 'string' },
    broker: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) {
    line(io.out, HELP)
    return 0
  }
  const [method, resource] = positionals
  if (!method || !resource || positionals.length > 2) throw createError('GW_ERR_CLI_USAGE', [HELP])
  if (!resource.startsWith('/'))
    throw createError('GW_ERR_CLI_USAGE', [`resource must start with "/", got "${resource}"`])
  let data: Json | undefined
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data) as Json
    } catch (err) {
      throw createError('GW_ERR_CLI_USAGE', [`--data is not JSON: ${(err as Error).message}`])
    }
  }
  const timeoutMs = values.timeout === undefined ? 10_000 : Number(values.timeout)
  const url = values.broker ?? brokerUrlFromEnv()
  const tunnel = randomBytes(16).toString('hex')
  const { default: mqtt } = await import('mqtt') // loaded by this command only, not by `start`
  const client = await mqtt
    .connectAsync(url, { clean: true, reconnectPeriod: 0, connectTimeout: 5000 })
    .catch((err: Error) => {
      throw createError('GW_ERR_BROKER_CONNECT', [url, err.message], { cause: err })
    })
  try {
    await client.subscribeAsync(tunnel, { qos: 1 })
    const id = new IdGenerator().next()
    const message: Envelope = { id, method: method.toLowerCase(), resource, tunnel }
    if (data !== undefined) message.data = data
    const answer = await new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(createError('GW_ERR_REQUEST_TIMEOUT', [method.toUpperCase(), resource, timeoutMs])),
        timeoutMs,
      )
      client.on('message', (_topic, payload) => {
        // the reply tunnel is hostile input like any other: bounded in depth before it is parsed (§8.9)
        const parsed = parsePayload(payload)
        if (parsed.ok && parsed.message.id === id) {
          clearTimeout(timer)
          resolve(parsed.message)
        }
      })
      client.publish(CONTROLLER_TOPIC, JSON.stringify(message), { qos: 1 }) // as the SDK (§2.2)
    })
    line(io.out, `${String(answer.code)} ${String(answer.method).toUpperCase()} ${String(answer.resource)}`)
    line(io.out, JSON.stringify(answer.data ?? null, null, 2))
    return typeof answer.code === 'number' && answer.code < 400 ? 0 : 1
  } finally {
    await client.endAsync()
  }
}
