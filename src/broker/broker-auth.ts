/**
 * The broker's authentication and ACL (docs/security.md) on an aedes instance: a thin adapter that feeds aedes'
 * hooks and events to the pure rules (connect-rule.ts, publish-rule.ts, subscribe-rule.ts, registration-rule.ts,
 * revocation-rule.ts) and keeps the state they decide on (reply-tunnels.ts, session-owners.ts).
 * @module
 */

import type { Aedes, AuthenticateError, AuthenticateHandler, Client } from 'aedes'
import type { Logger } from '../logger.ts'
import { type CredentialLookup, connectDecision, credentialsGiven } from './connect-rule.ts'
import { publishDecision } from './publish-rule.ts'
import { mayActFor, registrationRefusal } from './registration-rule.ts'
import { mayReplyTo, ReplyTunnels } from './reply-tunnels.ts'
import { revokedClients } from './revocation-rule.ts'
import type { SessionExpiry } from './session-expiry.ts'
import { SessionOwners } from './session-owners.ts'
import { subscribeDecision } from './subscribe-rule.ts'

export { MAX_PERSISTENT_SESSIONS, MAX_PERSISTENT_SESSIONS_PER_USER } from './connect-rule.ts'
export { ownsName } from './registration-rule.ts'

/** What the broker needs to check MQTT credentials (the gateway passes its broker credential store). */
export interface BrokerCredentialChecker {
  /** Checks a CONNECT's user name and password; never throws for bad input. */
  verify(
    username: string,
    password: string,
  ): { ok: true; credential: { id: string; bundle: string } } | { ok: false; reason: string }
  /** Whether a credential accepted earlier is still active (revocations cut live connections). */
  isActive(id: string): boolean
  /** Whether `bundle` has an active credential of its own (its name is then its own, not another's profile). */
  hasActive(bundle: string): boolean
}

/** What the ACL needs from the controller: whose tunnel a topic is, and who registered what. */
export interface ControllerView {
  tunnelOwner(topic: string): string | undefined
  onChange(
    listener: (
      event: 'registered' | 'deregistered' | 'offline',
      component: { name: string; clientId: string | undefined },
    ) => void,
  ): () => void
}

/** Options of {@link installBrokerAuth}. */
export interface BrokerAuthOptions {
  credentials: BrokerCredentialChecker
  /** The controller's local id: `/<localId>/controller` is then publishable too [WP-1]. */
  localId?: string | undefined
  /** How often connected clients are checked against revocations. @default 5000 */
  recheckMs?: number
}

/** Denials and refusals since start, for health listings and tests. */
export interface BrokerAuthStats {
  connectsRefused: number
  publishesDenied: number
  subscriptionsDenied: number
  registrationsRefused: number
  /** Connections refused because their client id names another user's persistent session. */
  sessionsRefused: number
  revokedDisconnects: number
  /** Client ids whose persistent session has an owner now (entries leave with their session). */
  sessionOwners: number
}

/** The broker's authentication and ACL, installed on an aedes instance. */
export interface BrokerAuth {
  /** The user name (bundle) a connected client authenticated as. */
  userOf(clientId: string): string | undefined
  /**
   * The controller's registration guard: why the MQTT client `clientId` may not register or deregister component
   * `name`, or `undefined` when it may. In-process callers (no client id) are the gateway itself and may.
   */
  registrationRefusal(
    name: string,
    clientId: string | undefined,
    verb: 'register' | 'deregister',
  ): string | undefined
  /** The controller's component guard: whether the MQTT client `clientId` may act for component `name`. */
  actsFor(name: string, clientId: string): boolean
  /** The user whose clients hold the reply tunnel `topic` (a subscribed non-component topic), if any. */
  replyTunnelOwner(topic: string): string | undefined
  /**
   * The controller's reply-tunnel guard: whether the MQTT client `clientId` may name `topic` as a request's reply
   * tunnel, i.e. no other user holds it (the answer would be injected into another user's tunnel).
   */
  mayReplyTo(topic: string, clientId: string): boolean
  /** Connects the ACL to the running controller (tunnels, and the user that registered each component). */
  bindController(controller: ControllerView): void
  stats(): BrokerAuthStats
  /**
   * Stops the revocation timer and removes every listener it added (aedes, sessions, controller). The hooks stay:
   * a closed authentication keeps refusing, it never opens the broker.
   */
  close(): void
}

const CONNACK_TEXT = { 2: 'identifier rejected', 4: 'bad user name or password', 5: 'not authorized' }
/** A misconfigured bundle reconnects every 0.5 s: one warning per user name and reason per this many ms. */
const CONNECT_WARN_EVERY_MS = 60_000

/**
 * Installs authentication and the ACL on `aedes` (docs/security.md): CONNECT needs an active broker credential
 * (connect-rule.ts) and a revoked one also cuts the clients already connected with it within `recheckMs`; PUBLISH
 * and SUBSCRIBE go through publish-rule.ts and subscribe-rule.ts; a client id with another user's persistent
 * session is refused, the ownership ends with the session (`sessions`). The controller itself publishes
 * in-process (`aedes.publish`), which no hook sees.
 */
export function installBrokerAuth(
  aedes: Aedes,
  options: BrokerAuthOptions,
  logger: Logger,
  sessions: SessionExpiry,
): BrokerAuth {
  return new AedesBrokerAuth(aedes, options, logger, sessions)
}

class AedesBrokerAuth implements BrokerAuth {
  readonly #aedes: Aedes
  readonly #options: BrokerAuthOptions
  readonly #log: Logger
  readonly #users = new WeakMap<Client, { user: string; credentialId: string }>()
  readonly #stats = {
    connectsRefused: 0,
    publishesDenied: 0,
    subscriptionsDenied: 0,
    registrationsRefused: 0,
    revokedDisconnects: 0,
    sessionsRefused: 0,
  }
  readonly #localId: string | undefined
  /** Component name → the user whose client registered it (kept while the component is registered, also offline). */
  readonly #registeredBy = new Map<string, string>()
  readonly #replyTunnels = new ReplyTunnels<Client>(
    (c) => (c as unknown as { closed?: boolean }).closed === true,
  )
  readonly #sessionOwners = new SessionOwners()
  readonly #lastWarned = new Map<string, number>()
  /** Every listener added (aedes, sessions, controller): `close()` removes them. */
  readonly #unlisten: Array<() => void> = []
  readonly #timer: NodeJS.Timeout
  #tunnelOwner: (topic: string) => string | undefined = () => undefined

  constructor(aedes: Aedes, options: BrokerAuthOptions, logger: Logger, sessions: SessionExpiry) {
    this.#aedes = aedes
    this.#options = options
    this.#log = logger.child({ component: 'broker-auth' })
    this.#localId = options.localId ? options.localId : undefined
    this.#unlisten.push(sessions.onEnd((clientId) => this.#sessionOwners.end(clientId)))
    this.#on('unsubscribe', (topics: string[], client: Client) => {
      for (const t of topics) this.#replyTunnels.release(client, t)
    })
    this.#on('clientDisconnect', (client: Client) => this.#replyTunnels.releaseAll(client))
    aedes.authenticate = (client, username, password, done) =>
      this.#authenticate(client, username, password, sessions, done)
    aedes.authorizePublish = (client, packet, done) => {
      const decision = publishDecision({ clientId: client?.id, topic: packet.topic, localId: this.#localId })
      if (decision.allow) return done(null)
      this.#stats.publishesDenied++
      const user = client ? this.#users.get(client)?.user : undefined
      this.#log.warn({ clientId: client?.id, user, topic: packet.topic }, 'MQTT publish denied')
      done(new Error(decision.reason))
    }
    aedes.authorizeSubscribe = (client, sub, done) =>
      done(null, this.#authorizeSubscribe(client, sub.topic) ? sub : null)
    this.#timer = setInterval(() => this.#recheck(), options.recheckMs ?? 5000)
    this.#timer.unref()
  }

  /** aedes keeps its registered clients by id; its typings do not declare the map. */
  get #clients(): Record<string, Client> {
    return (this.#aedes as unknown as { clients: Record<string, Client> }).clients
  }

  #on<A extends unknown[]>(event: string, listener: (...args: A) => void): void {
    const emitter = this.#aedes as unknown as NodeJS.EventEmitter
    const l = listener as (...args: unknown[]) => void
    emitter.on(event, l)
    this.#unlisten.push(() => emitter.removeListener(event, l))
  }

  #authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    sessions: SessionExpiry,
    done: Parameters<AuthenticateHandler>[3],
  ): void {
    const hasPassword = password !== undefined
    const holder = this.#clients[client.id]
    const decision = connectDecision({
      clientId: client.id,
      username,
      hasPassword,
      clean: client.clean !== false,
      lookup: credentialsGiven(username, hasPassword)
        ? this.#lookup(client, username as string, password as Buffer)
        : undefined,
      clientIdUser: holder ? this.#users.get(holder)?.user : undefined,
      sessionOwner: this.#sessionOwners.owner(client.id),
      persistentSessions: this.#sessionOwners.size,
      sessionsOf: (user) => this.#sessionOwners.countOf(user),
    })
    if (!decision.allow) {
      this.#stats.connectsRefused++
      if (decision.sessionConflict) this.#stats.sessionsRefused++
      this.#warnRefusal(client, username, decision.reason)
      const err = new Error(CONNACK_TEXT[decision.returnCode]) as AuthenticateError
      err.returnCode = decision.returnCode as AuthenticateError['returnCode']
      done(err, false)
      return
    }
    if (decision.claimSession) {
      this.#sessionOwners.claim(client.id, decision.user)
      sessions.expect(client.id) // expires unless a client holds it, even if this CONNECT never completes
    }
    this.#users.set(client, { user: decision.user, credentialId: decision.credentialId })
    const credential = decision.credentialId
    this.#log.debug({ clientId: client.id, username, credential }, 'MQTT client authenticated')
    done(null, true)
  }

  #lookup(client: Client, username: string, password: Buffer): CredentialLookup {
    try {
      return this.#options.credentials.verify(username, Buffer.from(password).toString('utf8'))
    } catch (err) {
      this.#log.error({ err, clientId: client.id }, 'broker credential check failed')
      return 'failed'
    }
  }

  /** One warning per user name and reason per minute, the rest at debug. */
  #warnRefusal(client: Client, username: string | undefined, reason: string): void {
    const key = `${username ?? ''}\u0000${reason}`
    const now = Date.now()
    const quiet = now - (this.#lastWarned.get(key) ?? Number.NEGATIVE_INFINITY) < CONNECT_WARN_EVERY_MS
    if (!quiet) {
      if (this.#lastWarned.size >= 1000) this.#lastWarned.clear()
      this.#lastWarned.set(key, now)
    }
    this.#log[quiet ? 'debug' : 'warn']({ clientId: client.id, username, reason }, 'MQTT connection refused')
  }

  /** Whether `client` may subscribe `topic` (SUBACK 0x80 otherwise; the connection stays). */
  #authorizeSubscribe(client: Client, topic: string): boolean {
    const user = this.#users.get(client)?.user
    const component = this.#tunnelOwner(topic)
    const decision = subscribeDecision({
      topic,
      user,
      localId: this.#localId,
      tunnel:
        component === undefined ? undefined : { component, registeredBy: this.#registeredBy.get(component) },
      replyHolder: this.#replyTunnels.owner(topic),
    })
    if (decision.allow) {
      if (decision.holdReplyTunnel && user !== undefined) this.#replyTunnels.hold(client, user, topic)
      return true
    }
    this.#stats.subscriptionsDenied++
    this.#log.warn({ clientId: client.id, user, topic, reason: decision.reason }, 'MQTT subscription denied')
    return false
  }

  /** Cuts the clients whose credential was revoked since they connected. */
  #recheck(): void {
    const connected: Array<{ client: Client; credentialId: string }> = []
    for (const client of Object.values(this.#clients)) {
      const who = this.#users.get(client)
      if (who) connected.push({ client, credentialId: who.credentialId })
    }
    const sweep = revokedClients(connected, (id) => this.#options.credentials.isActive(id))
    for (const client of sweep.revoked) {
      const who = this.#users.get(client)
      this.#stats.revokedDisconnects++
      this.#log.warn(
        { clientId: client.id, user: who?.user, credential: who?.credentialId },
        'credential revoked: MQTT client disconnected',
      )
      this.#users.delete(client)
      client.close()
    }
    if (sweep.failed) this.#log.warn({ err: sweep.failed.error }, 'broker credential recheck failed')
  }

  #taken = (name: string): boolean => {
    try {
      return this.#options.credentials.hasActive(name)
    } catch {
      return true // when in doubt, the profile name is not another user's to take
    }
  }

  userOf(clientId: string): string | undefined {
    const client = this.#clients[clientId]
    return client ? this.#users.get(client)?.user : undefined
  }

  registrationRefusal(name: string, clientId: string | undefined, verb: 'register' | 'deregister') {
    if (clientId === undefined) return undefined
    const user = this.userOf(clientId)
    const registeredBy = this.#registeredBy.get(name)
    const refusal = registrationRefusal({ name, user, verb, taken: this.#taken, registeredBy })
    if (refusal === undefined) return undefined
    this.#stats.registrationsRefused++
    this.#log.warn({ clientId, user, name, verb }, 'registration refused')
    return refusal
  }

  actsFor(name: string, clientId: string): boolean {
    const user = this.userOf(clientId)
    return user !== undefined && mayActFor(user, name, this.#registeredBy.get(name))
  }

  replyTunnelOwner(topic: string): string | undefined {
    return this.#replyTunnels.owner(topic)
  }

  mayReplyTo(topic: string, clientId: string): boolean {
    return mayReplyTo(this.#replyTunnels.owner(topic), this.userOf(clientId))
  }

  bindController(controller: ControllerView): void {
    this.#tunnelOwner = (topic) => controller.tunnelOwner(topic)
    const off = controller.onChange((event, c) => {
      if (event === 'deregistered') this.#registeredBy.delete(c.name)
      if (event !== 'registered') return
      const user = c.clientId === undefined ? undefined : this.userOf(c.clientId)
      if (user !== undefined) this.#registeredBy.set(c.name, user)
      else this.#registeredBy.delete(c.name)
    })
    this.#unlisten.push(off)
  }

  stats(): BrokerAuthStats {
    return { ...this.#stats, sessionOwners: this.#sessionOwners.size }
  }

  close(): void {
    clearInterval(this.#timer)
    for (const off of this.#unlisten.splice(0)) off()
  }
}
