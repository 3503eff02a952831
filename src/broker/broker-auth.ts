import type { Aedes, AuthenticateError, Client } from 'aedes'
import type { Logger } from '../logger.ts'
import type { SessionExpiry } from './session-expiry.ts'

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

/** Persistent sessions (clean: false) all users together may hold; beyond it new ones are refused (CONNACK 2). */
export const MAX_PERSISTENT_SESSIONS = 100_000
/** Persistent sessions one user may hold: one user cannot use up {@link MAX_PERSISTENT_SESSIONS} for all. */
export const MAX_PERSISTENT_SESSIONS_PER_USER = 1000

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
  close(): void
}

/** Our controller's tunnels are decimal strings of a number below 2^31 (wire-protocol.md §4.2). */
const COMPONENT_TUNNEL = /^\d{1,10}$/
const CONTROLLER_TOPIC = '/controller'
const PRESENCE_TOPIC = '/controller/presence'
/** {@link installBrokerAuth}'s answer for a topic that becomes the subscribing user's reply tunnel. */
const REPLY_TUNNEL = Symbol('reply tunnel')

/**
 * Whether the user `user` may register component name `name`: its own name, and its `-view`/`-model` profile names
 * (§4.5) unless `taken(name)` says that name is a bundle with credentials of its own.
 */
export function ownsName(
  user: string,
  name: string,
  taken: (name: string) => boolean = () => false,
): boolean {
  if (name === user) return true
  return (name === `${user}-view` || name === `${user}-model`) && !taken(name)
}

/**
 * Installs authentication and the ACL on `aedes` (docs/security.md):
 *
 * - CONNECT needs a user name and password of an active broker credential; otherwise CONNACK 5 (none given) or 4
 *   (wrong); a revoked credential also cuts the clients already connected with it within `recheckMs`.
 * - PUBLISH only to `/controller`, `/<localId>/controller` and the client's own will topic
 *   `/controller/presence/<client id>` (§2.1); any other topic closes the connection (MQTT 3.1.1 has no negative
 *   PUBACK; aedes closes it). A will for another topic is dropped.
 * - SUBSCRIBE: no wildcards, no `$…` and no `/controller…` topic except `/controller/presence`; a component tunnel
 *   only when the component was registered by the same user; a topic shaped like one of our tunnels
 *   that belongs to nobody yet is refused too (no waiting on a tunnel before it is handed out). Any other topic is
 *   a reply tunnel: it belongs to the first user that subscribes to it, other users are refused while a client of
 *   that user still holds it (released at its last unsubscribe or disconnect). Refusals are SUBACK 0x80; the
 *   connection stays.
 * - A client id with a persistent session (clean: false) of one user is refused (CONNACK 2) to other users: the
 *   session's queued messages would go to them. The ownership ends with the session (`sessions`: a clean session
 *   under that id, or its expiry); a user holds at most {@link MAX_PERSISTENT_SESSIONS_PER_USER} of them.
 *
 * The controller itself publishes in-process (`aedes.publish`), which no hook sees.
 */
export function installBrokerAuth(
  aedes: Aedes,
  options: BrokerAuthOptions,
  logger: Logger,
  sessions: SessionExpiry,
): BrokerAuth {
  const log = logger.child({ component: 'broker-auth' })
  const users = new WeakMap<Client, { user: string; credentialId: string }>()
  const stats: BrokerAuthStats = {
    connectsRefused: 0,
    publishesDenied: 0,
    subscriptionsDenied: 0,
    registrationsRefused: 0,
    revokedDisconnects: 0,
    sessionsRefused: 0,
    sessionOwners: 0,
  }
  const localTopic = options.localId ? `/${options.localId}/controller` : undefined
  let tunnelOwner: (topic: string) => string | undefined = () => undefined
  /** Component name → the user whose client registered it (kept while the component is registered, also offline). */
  const registeredBy = new Map<string, string>()
  const taken = (name: string) => {
    try {
      return options.credentials.hasActive(name)
    } catch {
      return true // when in doubt, the profile name is not another user's to take
    }
  }
  /** Whether `user` may act for the registered component `name` (read its tunnel, answer for it). */
  const actsFor = (user: string, name: string) => {
    const by = registeredBy.get(name)
    return by !== undefined ? by === user : name === user
  }
  // aedes keeps its registered clients by id; its typings do not declare the map.
  const clients = (aedes as unknown as { clients: Record<string, Client> }).clients

  /**
   * Reply tunnels: topic → the user that holds it and its clients holding it. An entry lives only while one of
   * them is subscribed, so the map is bounded by the live subscriptions aedes keeps anyway.
   */
  const replyTunnels = new Map<string, { user: string; holders: Set<Client> }>()
  /** The reply tunnels each client holds, to release them when it goes. */
  const heldBy = new Map<Client, Set<string>>()
  /**
   * Client id → the user of its persistent session (clean: false); one entry per session `sessions` keeps, removed
   * when it ends there. `sessionsOf` counts them per user.
   */
  const sessionUser = new Map<string, string>()
  const sessionsOf = new Map<string, number>()
  const claimSession = (clientId: string, user: string) => {
    if (sessionUser.get(clientId) === user) return
    sessionUser.set(clientId, user)
    sessionsOf.set(user, (sessionsOf.get(user) ?? 0) + 1)
  }
  sessions.onEnd((clientId) => {
    const user = sessionUser.get(clientId)
    if (user === undefined) return
    sessionUser.delete(clientId)
    const n = (sessionsOf.get(user) ?? 1) - 1
    if (n > 0) sessionsOf.set(user, n)
    else sessionsOf.delete(user)
  })
  const isClosed = (c: Client) => (c as unknown as { closed?: boolean }).closed === true
  /** The user holding reply tunnel `topic`, forgetting clients that went away without our hearing of it. */
  const replyOwner = (topic: string): string | undefined => {
    const entry = replyTunnels.get(topic)
    if (!entry) return undefined
    for (const c of entry.holders) if (isClosed(c)) release(c, topic)
    return replyTunnels.get(topic)?.user
  }
  const hold = (client: Client, user: string, topic: string) => {
    const entry = replyTunnels.get(topic) ?? { user, holders: new Set<Client>() }
    replyTunnels.set(topic, entry)
    entry.holders.add(client)
    const topics = heldBy.get(client) ?? new Set<string>()
    heldBy.set(client, topics)
    topics.add(topic)
  }
  function release(client: Client, topic: string): void {
    const entry = replyTunnels.get(topic)
    if (entry) {
      entry.holders.delete(client)
      if (entry.holders.size === 0) replyTunnels.delete(topic)
    }
    const topics = heldBy.get(client)
    topics?.delete(topic)
    if (topics?.size === 0) heldBy.delete(client)
  }
  aedes.on('unsubscribe', (topics: string[], client: Client) => {
    for (const t of topics) release(client, t)
  })
  aedes.on('clientDisconnect', (client: Client) => {
    for (const t of [...(heldBy.get(client) ?? [])]) release(client, t)
  })

  // A misconfigured bundle reconnects every 0.5 s: one warning per user name and reason per minute, the rest at debug.
  const lastWarned = new Map<string, number>()
  aedes.authenticate = (client, username, password, done) => {
    const refuse = (returnCode: 2 | 4 | 5, reason: string) => {
      stats.connectsRefused++
      const key = `${username ?? ''}\u0000${reason}`
      const now = Date.now()
      const quiet = now - (lastWarned.get(key) ?? Number.NEGATIVE_INFINITY) < 60_000
      if (!quiet) {
        if (lastWarned.size >= 1000) lastWarned.clear()
        lastWarned.set(key, now)
      }
      log[quiet ? 'debug' : 'warn']({ clientId: client.id, username, reason }, 'MQTT connection refused')
      const text = { 2: 'identifier rejected', 4: 'bad user name or password', 5: 'not authorized' }
      const err = new Error(text[returnCode]) as AuthenticateError
      err.returnCode = returnCode as AuthenticateError['returnCode']
      done(err, false)
    }
    if (username === undefined || username === '' || password === undefined)
      return refuse(5, 'no user name or password')
    let check: ReturnType<BrokerCredentialChecker['verify']>
    try {
      check = options.credentials.verify(username, Buffer.from(password).toString('utf8'))
    } catch (err) {
      log.error({ err, clientId: client.id }, 'broker credential check failed')
      return refuse(5, 'credential check failed')
    }
    if (!check.ok) return refuse(4, check.reason)
    // A CONNECT with a client id in use takes over that connection (MQTT 3.1.1 §3.1.4): only the same user may,
    // or anyone who learnt a bundle's client id could knock it offline.
    const holder = clients[client.id]
    const held = holder ? users.get(holder)?.user : undefined
    if (held !== undefined && held !== check.credential.bundle)
      return refuse(2, `client id in use by another user ('${held}')`)
    // Nor may another user resume (or wipe) a user's persistent session: its queued messages are that user's.
    const owner = sessionUser.get(client.id)
    if (owner !== undefined && owner !== check.credential.bundle) {
      stats.sessionsRefused++
      return refuse(2, `client id has a persistent session of another user ('${owner}')`)
    }
    // A clean session discards the stored one once aedes registers it: `sessions.onEnd` then frees the id.
    if (client.clean === false) {
      const user = check.credential.bundle
      if (owner === undefined && sessionUser.size >= MAX_PERSISTENT_SESSIONS)
        return refuse(2, 'too many persistent sessions')
      if (owner === undefined && (sessionsOf.get(user) ?? 0) >= MAX_PERSISTENT_SESSIONS_PER_USER)
        return refuse(2, 'too many persistent sessions of this user')
      claimSession(client.id, user)
      sessions.expect(client.id) // expires unless a client holds it, even if this CONNECT never completes
    }
    users.set(client, { user: check.credential.bundle, credentialId: check.credential.id })
    log.debug({ clientId: client.id, username, credential: check.credential.id }, 'MQTT client authenticated')
    done(null, true)
  }

  aedes.authorizePublish = (client, packet, done) => {
    const topic = packet.topic
    if (
      client &&
      (topic === CONTROLLER_TOPIC || topic === localTopic || topic === `${PRESENCE_TOPIC}/${client.id}`)
    )
      return done(null)
    stats.publishesDenied++
    log.warn(
      { clientId: client?.id, user: client ? users.get(client)?.user : undefined, topic },
      'MQTT publish denied',
    )
    done(new Error(`publishing to '${topic}' is not allowed`))
  }

  aedes.authorizeSubscribe = (client, sub, done) => {
    const user = users.get(client)?.user
    const why = subscribeRefusal(sub.topic, user)
    if (why === REPLY_TUNNEL) {
      if (user !== undefined) hold(client, user, sub.topic)
      return done(null, sub)
    }
    if (why === undefined) return done(null, sub)
    stats.subscriptionsDenied++
    log.warn(
      { clientId: client.id, user: users.get(client)?.user, topic: sub.topic, reason: why },
      'MQTT subscription denied',
    )
    done(null, null) // SUBACK 0x80, the connection stays
  }

  /** Why `user` may not subscribe to `topic`; `undefined` when it may, {@link REPLY_TUNNEL} when it may hold it. */
  function subscribeRefusal(
    topic: string,
    user: string | undefined,
  ): string | typeof REPLY_TUNNEL | undefined {
    if (user === undefined) return 'not authenticated'
    if (topic.includes('#') || topic.includes('+')) return 'wildcards are not allowed'
    if (topic.startsWith('$')) return 'system topics are not allowed'
    if (topic === PRESENCE_TOPIC) return undefined
    if (topic === CONTROLLER_TOPIC || topic.startsWith(`${CONTROLLER_TOPIC}/`) || topic === localTopic)
      return "the controller's topics are not readable"
    const owner = tunnelOwner(topic)
    if (owner !== undefined) return actsFor(user, owner) ? undefined : `tunnel of component '${owner}'`
    if (COMPONENT_TUNNEL.test(topic)) return 'not a tunnel handed out to this client'
    // a reply tunnel of the client's own choosing: its user's alone while one of its clients holds it
    const holder = replyOwner(topic)
    if (holder !== undefined && holder !== user) return `reply tunnel of another user ('${holder}')`
    return REPLY_TUNNEL
  }

  const timer = setInterval(() => {
    for (const client of Object.values(clients)) {
      const who = users.get(client)
      if (!who) continue
      let active = true
      try {
        active = options.credentials.isActive(who.credentialId)
      } catch (err) {
        log.warn({ err }, 'broker credential recheck failed')
        return
      }
      if (active) continue
      stats.revokedDisconnects++
      log.warn(
        { clientId: client.id, user: who.user, credential: who.credentialId },
        'credential revoked: MQTT client disconnected',
      )
      users.delete(client)
      client.close()
    }
  }, options.recheckMs ?? 5000)
  timer.unref()

  return {
    userOf(clientId) {
      const client = clients[clientId]
      return client ? users.get(client)?.user : undefined
    },
    registrationRefusal(name, clientId, verb) {
      if (clientId === undefined) return undefined
      const user = this.userOf(clientId)
      if (user !== undefined && ownsName(user, name, taken)) {
        const by = registeredBy.get(name)
        // a name registered by another user (before its credential existed) stays theirs until they deregister it
        if (by === undefined || by === user) return undefined
      }
      stats.registrationsRefused++
      log.warn({ clientId, user, name, verb }, 'registration refused')
      return user === undefined
        ? `may not ${verb} '${name}': the connection is not authenticated`
        : `may not ${verb} '${name}': the connection is authenticated as '${user}'`
    },
    actsFor(name, clientId) {
      const user = this.userOf(clientId)
      return user !== undefined && actsFor(user, name)
    },
    replyTunnelOwner: replyOwner,
    mayReplyTo(topic, clientId) {
      const owner = replyOwner(topic)
      return owner === undefined || owner === this.userOf(clientId)
    },
    bindController(controller) {
      tunnelOwner = (topic) => controller.tunnelOwner(topic)
      controller.onChange((event, c) => {
        if (event === 'deregistered') registeredBy.delete(c.name)
        if (event !== 'registered') return
        const user = c.clientId === undefined ? undefined : this.userOf(c.clientId)
        if (user !== undefined) registeredBy.set(c.name, user)
        else registeredBy.delete(c.name)
      })
    },
    stats: () => ({ ...stats, sessionOwners: sessionUser.size }),
    close() {
      clearInterval(timer)
    },
  }
}
