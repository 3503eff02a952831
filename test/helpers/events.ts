/**
 * Push-channel test helpers: a gateway with chosen `events.*` limits, an SSE client on node:http that keeps every
 * message, comment and the raw text, and a WebSocket client that keeps every message.
 * @module
 */

import { request as httpRequest, type IncomingMessage } from 'node:http'
import WebSocket from 'ws'
import type { Config } from '../../src/config/index.ts'
import type { Logger } from '../../src/logger.ts'
import type { Gateway } from '../../src/server.ts'
import { startTestGateway, waitFor } from './gateway.ts'

/** A gateway on free loopback ports, data dir and token file in a temp dir, with `events` overrides. */
export function startEventsGateway(
  options: { events?: Partial<Config['events']>; auth?: boolean; logger?: Logger } = {},
): Promise<Gateway & { rootToken: string }> {
  const auth = options.auth === undefined ? {} : { auth: options.auth }
  return startTestGateway({ events: options.events ?? {}, ...auth }, options.logger)
}

/** One SSE message. */
export interface SseMessage {
  event: string
  id: string | undefined
  data: string
  /** When it was parsed, ms since the epoch with sub-ms precision (`performance.timeOrigin + performance.now()`). */
  at: number
}

/** A connected (or refused) SSE client. */
export interface SseClient {
  status: number
  headers: IncomingMessage['headers']
  /** The body of a refused request (status ≠ 200). */
  body: string
  messages: SseMessage[]
  /** `data` of every `message` event, parsed. */
  events(): Array<{
    id: number
    resource: string
    method: string
    code: number | null
    data: unknown
    time: string
  }>
  comments: string[]
  /** Whether the server ended the stream. */
  ended: boolean
  waitForEvents(n: number, ms?: number): Promise<void>
  close(): void
}

/** Opens `GET <url>` (an absolute URL) as an event stream; resolves once the status is known. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8')
      let buffer = ''
      let event = ''
      let id: string | undefined
      let data: string[] = []
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        messages: [],
        comments: [],
        ended: false,
        events: () =>
          client.messages
            .filter((m) => m.event === 'message')
            .map(
              (m) =>
                ({ id: Number(m.id), ...(JSON.parse(m.data) as object) }) as ReturnType<
                  SseClient['events']
                >[0],
            ),
        waitForEvents: (n, ms = 5000) =>
          waitFor(() => client.events().length >= n, ms, `${n} SSE events (have ${client.events().length})`),
        close: () => {
          req.destroy()
        },
      }
      res.on('data', (chunk: string) => {
        if (client.status !== 200) {
          client.body += chunk
          return
        }
        buffer += chunk
        let nl = buffer.indexOf('\n')
        while (nl !== -1) {
          const text = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          if (text === '') {
            if (data.length > 0)
              client.messages.push({
                event: event || 'message',
                id,
                data: data.join('\n'),
                at: performance.timeOrigin + performance.now(),
              })
            event = ''
            id = undefined
            data = []
          } else if (text.startsWith(':')) client.comments.push(text.slice(1).trim())
          else {
            const colon = text.indexOf(':')
            const field = text.slice(0, colon)
            const value = text.slice(colon + 1).replace(/^ /, '')
            if (field === 'data') data.push(value)
            else if (field === 'event') event = value
            else if (field === 'id') id = value
          }
          nl = buffer.indexOf('\n')
        }
      })
      res.on('end', () => {
        client.ended = true
      })
      res.on('close', () => {
        client.ended = true
      })
      res.on('error', () => {})
      resolve(client)
    })
    req.on('error', reject)
    req.end()
  })
}

/** A WebSocket client that keeps every JSON message. */
export interface WsClient {
  ws: WebSocket
  messages: Array<Record<string, unknown>>
  send(msg: unknown): void
  /** Resolves with the first message (after those already seen when called, from index `from`) that fits. */
  next(fits: (m: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>
  close(): Promise<void>
}

/** Connects to `ws://…` and resolves once open; rejects with the HTTP status of a refused upgrade. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const messages: Array<Record<string, unknown>> = []
    ws.on('message', (raw) => messages.push(JSON.parse(raw.toString()) as Record<string, unknown>))
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () =>
        reject(
          Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode, body }),
        ),
      )
    })
    ws.once('error', reject)
    ws.once('open', () => {
      let seen = 0
      resolve({
        ws,
        messages,
        send: (msg) => ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)),
        async next(fits, ms = 5000) {
          let found: Record<string, unknown> | undefined
          await waitFor(
            () => {
              for (; seen < messages.length; seen++) {
                const m = messages[seen] as Record<string, unknown>
                if (fits(m)) {
                  found = m
                  seen++
                  return true
                }
              }
              return false
            },
            ms,
            'a WebSocket message',
          )
          return found as Record<string, unknown>
        },
        close: () =>
          new Promise<void>((r) => {
            if (ws.readyState === ws.CLOSED) return r()
            ws.once('close', () => r())
            ws.close()
          }),
      })
    })
  })
}
