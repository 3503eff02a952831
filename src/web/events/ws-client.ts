import type { RawData, WebSocket } from 'ws'
import type { ErrorCallArgs, ErrorCode } from '../../errors.ts'
import { isObject, type JsonObject, messageDepth } from '../../protocol/index.ts'
import { errorReply } from '../http-error.ts'
import { frameCache } from './frame-cache.ts'
import { PatternSet } from './pattern-set.ts'
import { PushClient, type PushClientParts, type PushTransport } from './push-client.ts'

/** While a resuming client's buffer is full, how often to look at `bufferedAmount` again (ws has no drain event). */
const DRAIN_POLL_MS = 10

/** The WebSocket frame of an event, made once per event. */
const frameOf = frameCache((e) => `{"type":"event","id":${e.id},${e.json.slice(1)}`)

/** Sends `{"type":"error", message, code, …extra}` to the client. */
type SendError = <C extends ErrorCode>(code: C, ...rest: ErrorCallArgs<C, Record<string, unknown>>) => void

/**
 * One WebSocket client of the push channel: a {@link PushClient} over `ws`, which answers the client's messages
 * (subscribe, unsubscribe, ping) and keeps the connection alive with pings.
 */
export function startWsClient(
  ws: WebSocket,
  parts: Omit<PushClientParts, 'transport'>,
  maxDepth: number,
): void {
  const state = { alive: true }
  const client = new PushClient({ ...parts, transport: wsTransport(ws, state) })
  const error: SendError = (code, ...rest) => {
    const r = errorReply(code, ...rest)
    client.send(JSON.stringify({ type: 'error', ...r.body }))
  }
  ws.on('pong', () => {
    state.alive = true
  })
  ws.on('error', (err) => parts.log.debug({ err: err.message }, 'websocket error'))
  ws.on('close', () => client.disconnected())
  ws.on('message', (raw: RawData, isBinary: boolean) => {
    state.alive = true
    const msg = readClientMessage(raw, isBinary, maxDepth, error)
    if (msg) answerClientMessage(client, parts.patterns, msg, error)
  })
  client.start()
}

/** How a push client writes to, pings and closes a WebSocket. */
function wsTransport(ws: WebSocket, state: { alive: boolean }): PushTransport {
  return {
    buffered: () => ws.bufferedAmount,
    writable: () => ws.readyState === ws.OPEN,
    write: (text) => ws.send(text),
    frame: frameOf,
    gapFrame: (g) => JSON.stringify({ type: 'gap', ...g }),
    whenDrained: (resume) => setTimeout(resume, DRAIN_POLL_MS),
    end: (reason) => {
      ws.close(reason === 'gateway stopping' ? 1001 : 1008, reason)
      setTimeout(() => ws.terminate(), 1000).unref()
    },
    destroy: () => ws.terminate(),
    keepAlive: (c) => {
      if (!state.alive) return c.drop('no pong')
      state.alive = false
      ws.ping()
    },
  }
}

/** A client message as a JSON object, measured before it is parsed (§8.9); else the error is sent. */
function readClientMessage(
  raw: RawData,
  isBinary: boolean,
  maxDepth: number,
  error: SendError,
): JsonObject | undefined {
  let msg: unknown
  if (!isBinary) {
    const text = raw.toString()
    // §8.9: measured before parsing; a deep value would crash the error answer's JSON.stringify
    const depth = messageDepth(text)
    if (depth > maxDepth) {
      error('GW_ERR_JSON_TOO_DEEP', [depth, maxDepth])
      return undefined
    }
    try {
      msg = JSON.parse(text)
    } catch {
      msg = undefined
    }
  }
  if (isObject(msg)) return msg as JsonObject
  error('GW_ERR_EVENTS_MESSAGE', ['Expected a JSON object {"type", …}'])
  return undefined
}

/** subscribe, unsubscribe, ping; anything else is an error message. */
function answerClientMessage(
  client: PushClient,
  patterns: PatternSet,
  msg: JsonObject,
  error: SendError,
): unknown {
  switch (msg.type) {
    case 'subscribe': {
      const problem = PatternSet.problem(msg.resource)
      if (problem) return error('GW_ERR_EVENTS_PATTERN', [problem], { resource: msg.resource ?? null })
      if (!patterns.add(msg.resource as string))
        return error('GW_ERR_EVENTS_PATTERN', [`at most ${PatternSet.MAX} patterns per client`], {
          resource: msg.resource as string,
        })
      return client.send(JSON.stringify({ type: 'subscribed', resource: msg.resource }))
    }
    case 'unsubscribe': {
      if (typeof msg.resource !== 'string')
        return error('GW_ERR_EVENTS_PATTERN', ['Expected `resource` to be a pattern (string)'])
      patterns.delete(msg.resource)
      return client.send(JSON.stringify({ type: 'unsubscribed', resource: msg.resource }))
    }
    case 'ping':
      return client.send('{"type":"pong"}')
    default:
      return error('GW_ERR_EVENTS_MESSAGE', [
        `Expected \`type\` to be subscribe, unsubscribe or ping, got ${JSON.stringify(msg.type ?? null)}`,
      ])
  }
}
