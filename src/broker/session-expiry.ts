import type { Aedes, Client } from 'aedes'
import type { Logger } from '../logger.ts'

/** What {@link installSessionExpiry} counts. */
export interface SessionExpiryStats {
  /** Persistent sessions (clean: false) the broker keeps now, connected or not. */
  persistentSessions: number
  /** Sessions discarded because their client did not come back within the expiry. */
  sessionsExpired: number
}

/** The persistent sessions of the embedded broker and their expiry. */
export interface SessionExpiry {
  /**
   * A client id is about to take a persistent session (its CONNECT passed authentication): unless a client holds it,
   * it expires after the expiry like a disconnected one, so a CONNECT that never completes leaves nothing behind.
   */
  expect(clientId: string): void
  /**
   * Calls `listener` with each client id whose persistent session ended (expired, or replaced by a clean one).
   * @returns a function that removes `listener` again.
   */
  onEnd(listener: (clientId: string) => void): () => void
  stats(): SessionExpiryStats
  close(): void
}

type Persistence = {
  cleanSubscriptions(client: { id: string }): Promise<unknown>
  outgoingStream(client: { id: string }): AsyncIterable<{ messageId?: number }>
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>
  cleanIncoming?(client: { id: string }): Promise<unknown>
}

/**
 * aedes 1.2 keeps a persistent session (subscriptions, queued QoS 1/2 messages, unfinished QoS 2 receipts) until the
 * same client id connects with clean: true, i.e. forever for a client that never comes back. This ends each one
 * `expiryMs` after its client disconnected (MQTT 3.1.1 §3.1.2.4 leaves session lifetime to the server; MQTT 5's
 * Session Expiry Interval is the same idea) and wipes it from aedes' persistence.
 */
export function installSessionExpiry(aedes: Aedes, expiryMs: number, logger: Logger): SessionExpiry {
  const log = logger.child({ component: 'broker-sessions' })
  /** Client id → its expiry timer, or `null` while a client holds the session. */
  const sessions = new Map<string, NodeJS.Timeout | null>()
  const listeners: Array<(clientId: string) => void> = []
  let expired = 0
  let closed = false
  const clients = (aedes as unknown as { clients: Record<string, Client> }).clients

  const end = (clientId: string) => {
    const timer = sessions.get(clientId)
    if (timer) clearTimeout(timer)
    if (!sessions.delete(clientId)) return
    for (const l of listeners) l(clientId)
  }
  const arm = (clientId: string) => {
    const old = sessions.get(clientId)
    if (old) clearTimeout(old)
    const timer = setTimeout(() => void expire(clientId), expiryMs)
    timer.unref()
    sessions.set(clientId, timer)
  }
  async function expire(clientId: string): Promise<void> {
    if (closed) return
    if (clients[clientId]) {
      sessions.set(clientId, null) // held again (a takeover we did not see end): not ours to wipe
      return
    }
    sessions.delete(clientId) // before the awaits: a CONNECT meanwhile starts a new session
    expired++
    const persistence = (aedes as unknown as { persistence: Persistence }).persistence
    const who = { id: clientId }
    try {
      await persistence.cleanSubscriptions(who)
      for await (const packet of persistence.outgoingStream(who))
        await persistence.outgoingClearMessageId(who, packet)
      await persistence.cleanIncoming?.(who)
    } catch (err) {
      log.warn({ err, clientId }, 'wiping an expired MQTT session failed')
    }
    log.debug({ clientId, expiryMs }, 'persistent MQTT session expired')
    if (sessions.has(clientId)) return // a new session under this id began meanwhile: it stays its owner's
    for (const l of listeners) l(clientId)
  }

  aedes.on('client', (client: Client) => {
    if (client.clean) return end(client.id) // a clean session discards the stored one (aedes already did)
    const timer = sessions.get(client.id)
    if (timer) clearTimeout(timer)
    sessions.set(client.id, null)
  })
  aedes.on('clientDisconnect', (client: Client) => {
    if (client.clean || closed) return
    if (clients[client.id] && clients[client.id] !== client) return // taken over: the new client holds it
    arm(client.id)
  })

  return {
    expect(clientId) {
      if (sessions.get(clientId) === null && clients[clientId]) return // held: its disconnect arms the expiry
      arm(clientId)
    },
    onEnd(listener) {
      listeners.push(listener)
      return () => {
        const i = listeners.indexOf(listener)
        if (i >= 0) listeners.splice(i, 1)
      }
    },
    stats: () => ({ persistentSessions: sessions.size, sessionsExpired: expired }),
    close() {
      closed = true
      for (const t of sessions.values()) if (t) clearTimeout(t)
    },
  }
}
