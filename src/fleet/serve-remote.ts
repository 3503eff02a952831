import type { ControllerCore } from '../controller/index.ts'
import { DropLog } from '../drop-log.ts'
import type { ErrorCallArgs, ErrorCode } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Json } from '../protocol/index.ts'
import { errorReply, outcomeReply } from '../web/index.ts'
import { type TrustScope, trustRefusal } from './trust.ts'
import { type FleetRequest, parseFleetRequest } from './wire.ts'

/** What the target side is built from. */
export interface RemoteServerDeps {
  localId: string
  core: ControllerCore
  trust: ReadonlyMap<string, TrustScope>
  /** Publishes the answer on `/fleet/<localId>/res/<caller>`. */
  reply: (caller: string, payload: string) => void
  log: Logger
  maxInFlight: number
  jsonDepth: number
}

/** Resources a remote caller never reaches: the controller's own, and another hop through this gateway. */
const CLOSED_PREFIXES = ['/controller', '/remote']

/**
 * The target side of a remote call [WP-68]: a request on `/fleet/<caller>/req/<localId>` is checked (shape, then
 * trust, before anything reaches the controller), run through the local controller in-process exactly as an HTTP
 * request of a token with the trusted scope (`caller` = `{token: "fleet:<caller>", scope}`), and its outcome is
 * answered as the web service would map it (§8.5) on `/fleet/<localId>/res/<caller>`.
 */
export class RemoteServer {
  readonly #d: RemoteServerDeps
  readonly #drops: DropLog
  readonly #inFlight = new Map<string, number>()

  constructor(deps: RemoteServerDeps) {
    this.#d = deps
    this.#drops = new DropLog(deps.log)
  }

  /** One message on `/fleet/<caller>/req/<localId>`; `caller` comes from the topic, which the ACL vouches for. */
  handle(caller: string, payload: Uint8Array): void {
    const parsed = parseFleetRequest(payload, this.#d.jsonDepth)
    if (!parsed.ok) {
      if (parsed.id === undefined)
        this.#drops.drop('fleet request dropped', { caller, reason: parsed.reason })
      else this.#refuse(caller, parsed.id, 'GW_ERR_FLEET_BAD_REQUEST', [parsed.reason])
      return
    }
    const r = parsed.request
    const refusal = trustRefusal(this.#d.trust, caller, r.method)
    const path = r.resource.split('?')[0] as string
    if (refusal === 'untrusted') {
      this.#drops.drop('fleet call refused: caller not trusted', { caller, method: r.method, resource: path })
      this.#refuse(caller, r.id, 'GW_ERR_FLEET_UNTRUSTED', [this.#d.localId, caller])
      return
    }
    if (refusal === 'read-only' || CLOSED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) {
      this.#drops.drop('fleet call refused: scope', { caller, method: r.method, resource: path })
      this.#refuse(caller, r.id, 'GW_ERR_FLEET_SCOPE', [this.#d.localId, caller, `${r.method} ${path}`])
      return
    }
    const busy = this.#inFlight.get(caller) ?? 0
    if (busy >= this.#d.maxInFlight) {
      this.#refuse(caller, r.id, 'GW_ERR_FLEET_BUSY', [this.#d.maxInFlight])
      return
    }
    this.#inFlight.set(caller, busy + 1)
    void this.#serve(caller, r, this.#d.trust.get(caller) as TrustScope).finally(() => {
      const n = (this.#inFlight.get(caller) ?? 1) - 1
      if (n > 0) this.#inFlight.set(caller, n)
      else this.#inFlight.delete(caller)
    })
  }

  async #serve(caller: string, r: FleetRequest, scope: TrustScope): Promise<void> {
    const outcome = await this.#d.core.request({
      method: r.method,
      resource: r.resource,
      data: r.data,
      caller: { token: `fleet:${caller}`, scope },
    })
    const http = outcomeReply(outcome, r.resource, false)
    this.#d.log.info(
      { caller, method: r.method, resource: r.resource.split('?')[0], code: http.status },
      'remote call served',
    )
    this.#send(caller, r.id, http.status, http.body as Json | undefined)
  }

  #refuse<C extends ErrorCode>(
    caller: string,
    id: number,
    code: C,
    ...rest: ErrorCallArgs<C, Record<string, unknown>>
  ): void {
    const r = errorReply(code, ...rest)
    this.#send(caller, id, r.status, r.body as unknown as Json)
  }

  #send(caller: string, id: number, code: number, data: Json | undefined): void {
    const message: Record<string, Json> = { id, code, sign: [this.#d.localId] }
    if (data !== undefined) message.data = data
    this.#d.reply(caller, JSON.stringify(message))
  }
}
