/**
 * `GET /api/v1/bundles/<name>/logs` (admin): the last lines of a managed bundle's log as JSON or as a text
 * download, or `?follow=true`: Server-Sent Events, the tail first, then every new line as an event `log`.
 * Followers are few and bounded: at most `maxFollowers` at once, and one whose unsent data passes `bufferBytes`
 * (a slow reader) is dropped rather than buffered for.
 * @module
 */
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { createError } from '../../errors.ts'
import type { BundleManagerApi, LogLine } from '../../manager/index.ts'
import { isObject } from '../../protocol/index.ts'
import { errorReply } from '../http-error.ts'
import { API_PREFIX } from '../map-resource.ts'
import { nameOf, notInstalled } from './managed-not-found.ts'

/** Limits of the log routes. */
export interface LogRouteOptions {
  /** Lines a tail may ask for. */
  maxTail: number
  /** Followers (all bundles together) at once. */
  maxFollowers: number
  /** Unsent bytes a follower may have before it is dropped. */
  bufferBytes: number
  /** A comment line this often keeps idle streams (and proxies) open. */
  heartbeatMs: number
}

export const LOG_ROUTE_DEFAULTS: Readonly<LogRouteOptions> = {
  maxTail: 10_000,
  maxFollowers: 16,
  bufferBytes: 262_144,
  heartbeatMs: 15_000,
}

/** Lines of a tail when `?tail` is not given. */
const DEFAULT_TAIL = 100

/** `?tail=N` (0 to `max`; default 100). @throws GW_ERR_BAD_REQUEST */
export function tailOf(query: Record<string, unknown>, max: number): number {
  const v = query.tail
  if (v === undefined) return Math.min(DEFAULT_TAIL, max)
  if (typeof v !== 'string' || !/^\d{1,9}$/.test(v) || Number(v) > max)
    throw createError('GW_ERR_BAD_REQUEST', [`query tail must be a whole number from 0 to ${max}`])
  return Number(v)
}

/** One line of the text download: `<time> <stream> <line>`. */
export function logText(l: LogLine): string {
  return `${l.at} ${l.stream} ${l.line}\n`
}

/** Whether the stream still takes writes (a write after `end()` would be an 'error' event). */
const writable = (res: ServerResponse) => !res.destroyed && !res.writableEnded

const sseFrame = (l: LogLine) => `event: log\ndata: ${JSON.stringify(l)}\n\n`
const keyOf = (l: LogLine) => `${l.at}\u0000${l.stream}\u0000${l.line}`

/** Registers the route on `app` (the manager's scope). */
export function logRoutes(
  app: FastifyInstance,
  manager: BundleManagerApi,
  options: Partial<LogRouteOptions> = {},
): void {
  const o = { ...LOG_ROUTE_DEFAULTS, ...options }
  const followers = new Set<ServerResponse>()
  const timer = setInterval(() => {
    for (const res of followers) if (writable(res)) res.write(': keep-alive\n\n')
  }, o.heartbeatMs)
  timer.unref()
  app.addHook('preClose', (done) => {
    clearInterval(timer)
    for (const res of [...followers]) if (writable(res)) res.end()
    done()
  })
  app.get(
    `${API_PREFIX}/bundles/:name/logs`,
    // no HEAD twin: a HEAD with follow=true would hold a stream open with nothing to send
    { exposeHeadRoute: false, config: { auth: 'admin' } },
    async (request, reply) => {
      const name = nameOf(request)
      const managed = manager.get(name)
      if (!managed) return notInstalled(reply, name)
      const query = isObject(request.query) ? request.query : {}
      const n = tailOf(query, o.maxTail)
      if (query.follow === 'true') return follow(request, reply, manager, name, n, followers, o)
      const lines = await manager.tail(name, n)
      if (query.format === 'text') {
        return reply
          .type('text/plain; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}.log"`)
          .send(lines.map(logText).join(''))
      }
      return { lines, dropped: manager.get(name)?.droppedLogLines ?? managed.droppedLogLines }
    },
  )
}

/**
 * The follow stream. Live lines are collected from before the tail is read, so none falls between the tail and
 * the subscription; those already in the tail are not sent twice.
 */
async function follow(
  request: FastifyRequest,
  reply: FastifyReply,
  manager: BundleManagerApi,
  name: string,
  n: number,
  followers: Set<ServerResponse>,
  o: LogRouteOptions,
): Promise<FastifyReply> {
  if (followers.size >= o.maxFollowers) {
    const r = errorReply('GW_ERR_MANAGER_LOG_FOLLOWERS', [o.maxFollowers])
    return reply.code(r.status).send(r.body)
  }
  const res = reply.raw
  followers.add(res)
  let pending: LogLine[] | undefined = []
  const send = (l: LogLine) => {
    if (res.writableLength > o.bufferBytes) {
      request.log.warn(
        { bundle: name, buffered: res.writableLength },
        'log follower dropped: it reads too slowly',
      )
      close()
      res.destroy()
      return
    }
    res.write(sseFrame(l))
  }
  const unsubscribe = manager.follow(name, (l) => {
    if (!pending) {
      if (writable(res)) send(l)
      return
    }
    // while the tail is read: the latest lines only, as many as a tail may have
    pending.push(l)
    if (pending.length > o.maxTail) pending.shift()
  })
  const close = () => {
    unsubscribe()
    followers.delete(res)
  }
  res.once('close', close)
  reply.hijack()
  request.raw.socket.setNoDelay(true)
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  })
  try {
    const tail = await manager.tail(name, n)
    if (!writable(res)) return reply
    const seen = new Set(tail.slice(-Math.max(pending.length, 1)).map(keyOf))
    for (const l of tail) res.write(sseFrame(l))
    const live = pending.filter((l) => !seen.has(keyOf(l)))
    pending = undefined
    for (const l of live) send(l)
  } catch (err) {
    request.log.warn({ bundle: name, err: (err as Error).message }, 'log tail failed')
    close()
    if (writable(res)) res.end()
  }
  return reply
}
