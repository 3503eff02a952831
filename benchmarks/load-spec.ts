/**
 * What the orchestrator (run.ts) and a load-generator process say to each other over the IPC channel.
 * @module
 */
import type { HistogramJson } from './histogram.ts'

/** GET a URL over keep-alive HTTP/1.1 connections, one request in flight per connection. */
export interface HttpTarget {
  kind: 'http'
  /** `http://127.0.0.1:<port>/path` */
  url: string
  headers: Record<string, string>
  /** When set, a 2xx answer whose body differs counts as an error. */
  expectBody?: string
}

/** Direct requests over MQTT: `{id, method, resource, tunnel}` on `/controller`, answers on our own tunnel. */
export interface MqttTarget {
  kind: 'mqtt'
  brokerUrl: string
  method: string
  resource: string
  /** QoS of the request publish (our SDK and `bundlegate request` use 2). */
  qos: 0 | 1 | 2
  /** When set, an answer whose `JSON.stringify(data)` differs counts as an error. */
  expectData?: string
  /**
   * No controller: publish each request to this topic (a bundle's tunnel) and take answers from `answerTopic`
   * (where a bundle publishes them, `/controller`). The Python stand-in's own limit behind mosquitto.
   */
  direct?: { requestTopic: string; answerTopic: string }
}

/** One run: keep `concurrency` requests in flight, warm up, then measure. */
export interface LoadSpec {
  target: HttpTarget | MqttTarget
  concurrency: number
  warmupMs: number
  durationMs: number
  /** A request older than this counts as an error (`timeout`) and its slot starts again. */
  requestTimeoutMs: number
}

/** What one measured window gave. */
export interface LoadResult {
  /** Successful answers completed inside the window. */
  ok: number
  /** Failures completed inside the window (non-2xx, wrong body, socket errors, timeouts). */
  errors: number
  errorKinds: Record<string, number>
  /** Requests still unanswered when the generator gave up draining. */
  unanswered: number
  /** Exact length of the window. */
  elapsedMs: number
  /** Latency of the successful answers, in microseconds. */
  histogram: HistogramJson
  /** CPU seconds the generator itself used inside the window. */
  cpuSeconds: number
}

/** Generator → orchestrator. */
export type LoadEvent =
  | { type: 'ready' }
  | { type: 'measure-start' }
  | { type: 'measure-end' }
  | { type: 'result'; result: LoadResult }
  | { type: 'failed'; message: string }
