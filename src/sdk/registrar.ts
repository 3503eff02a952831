import type { Logger } from '../logger.ts'
import { isObject, REGISTRATION_RESOURCE } from '../protocol/index.ts'
import { backoffMs, pause } from './backoff.ts'
import type { ResponseMessage } from './message.ts'
import type { RegistrationProfile } from './profiles.ts'
import type { Publisher } from './publisher.ts'

/** What the registrar needs from its bundle. */
export interface RegistrarHost {
  readonly publisher: Publisher
  readonly log: Logger
  readonly replyTunnel: string
  readonly clientId: string
  /** Subscribes a new component tunnel and drops the previous one of that role. */
  swapTunnel(role: 'model' | 'view', tunnel: string): Promise<void>
}

/** How long to wait for the controller's answer to a registration call. */
const DELETE_TIMEOUT_MS = 3000
const POST_TIMEOUT_MS = 10_000

/**
 * The DELETE-then-POST routine (wire-protocol.md §4.6, §8.4): DELETE every profile until 200, then POST each; on
 * failure DELETE and POST again, pausing 1 s doubling to 30 s between attempts. A new run (reconnect, controller
 * restart, the controller announcing itself while this run is stalled) aborts the previous one at once.
 */
export class Registrar {
  readonly #host: RegistrarHost
  readonly #profiles: readonly RegistrationProfile[]
  #abort: AbortController | undefined
  #running = 0
  /**
   * What the current run does: `waiting` for the controller's reply, `lost` pausing after a call nobody answered,
   * `refused` pausing after a real refusal, `idle` otherwise.
   */
  #phase: 'idle' | 'waiting' | 'lost' | 'refused' = 'idle'
  /** The controller instance of our last successful registration (§8.4). */
  instance: string | undefined

  constructor(host: RegistrarHost, profiles: readonly RegistrationProfile[]) {
    this.#host = host
    this.#profiles = profiles
  }

  /** Starts a run (aborting any running one); resolves true when every profile is registered, false if aborted. */
  run(): Promise<boolean> {
    this.#abort?.abort()
    const abort = new AbortController()
    this.#abort = abort
    this.#running++
    return this.#run(abort.signal).finally(() => {
      this.#running--
    })
  }

  /** True while a routine is under way. */
  get running(): boolean {
    return this.#running > 0
  }

  /**
   * True while a routine is under way and waits for a reply, or pauses after a call that got none: what it sent may
   * have reached no controller (§8.4: the controller was not subscribed yet). A pause after a real refusal is not
   * stalled: its backoff stands.
   */
  get stalled(): boolean {
    return this.running && (this.#phase === 'waiting' || this.#phase === 'lost')
  }

  /** Aborts the running routine. */
  stop(): void {
    this.#abort?.abort()
  }

  async #run(signal: AbortSignal): Promise<boolean> {
    const { log } = this.#host
    for (const p of this.#profiles) {
      if (p.empty) log.debug(`${p.name} no need to register due to no resources`)
    }
    const active = this.#profiles.filter((p) => !p.empty)
    for (const p of active) if (!(await this.#deregister(p, signal))) return false
    for (const p of active) {
      let attempt = 0
      for (;;) {
        if (signal.aborted) return false
        const reply = await this.#call('post', p, POST_TIMEOUT_MS, signal)
        if (signal.aborted) return false
        const data = reply && isObject(reply.data) ? reply.data : undefined
        if (reply?.code === 200 && typeof data?.tunnel === 'string') {
          const tunnel = data.tunnel
          if (typeof data.instance === 'string') this.instance = data.instance
          await this.#host.swapTunnel(p.role, tunnel)
          log.info({ component: p.name, tunnel }, `Register successfully ${p.name} tunnel: ${tunnel}`)
          break
        }
        const why = reply ? { code: reply.code, data: reply.data } : { timeout: POST_TIMEOUT_MS }
        log.warn({ component: p.name, ...why }, 'registration refused, retrying')
        this.#phase = reply ? 'refused' : 'lost'
        await pause(backoffMs(attempt++), signal)
        if (!(await this.#deregister(p, signal))) return false
      }
    }
    return true
  }

  /** DELETE until 200 (§4.6 step 2). */
  async #deregister(p: RegistrationProfile, signal: AbortSignal): Promise<boolean> {
    let attempt = 0
    for (;;) {
      if (signal.aborted) return false
      this.#host.log.debug({ component: p.name }, `deregister ${p.name}`)
      const reply = await this.#call('delete', p, DELETE_TIMEOUT_MS, signal)
      if (signal.aborted) return false
      if (reply?.code === 200) return true
      this.#host.log.debug({ component: p.name, code: reply?.code }, 'deregistration not accepted, retrying')
      this.#phase = reply ? 'refused' : 'lost'
      await pause(backoffMs(attempt++), signal)
    }
  }

  /** One registration call; undefined when nobody answered in time, or at once when `signal` aborts. */
  async #call(
    method: 'post' | 'delete',
    p: RegistrationProfile,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ResponseMessage | undefined> {
    // §4.2: the whole profile as data, with our reply tunnel; clientId binds us for liveness [WP-47].
    const data = { ...p.data, tunnel: this.#host.replyTunnel, clientId: this.#host.clientId }
    if (signal.aborted) return undefined
    this.#phase = 'waiting'
    let onAbort: (() => void) | undefined
    const aborted = new Promise<undefined>((resolve) => {
      onAbort = () => resolve(undefined)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      // An aborted run stops waiting at once; a late reply to the abandoned call settles a promise nobody awaits.
      return await Promise.race([
        this.#host.publisher.request(method, REGISTRATION_RESOURCE, data, { timeoutMs }),
        aborted,
      ])
    } catch {
      return undefined
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort)
      if (!signal.aborted) this.#phase = 'idle'
    }
  }
}
