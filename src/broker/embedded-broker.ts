import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import { createError } from '../errors.ts'
import { type Logger, silentLogger } from '../logger.ts'
import { type BrokerAuth, type BrokerAuthOptions, installBrokerAuth } from './broker-auth.ts'
import { installConnectGuard, MAX_CLIENT_ID_LENGTH } from './connect-guard.ts'
import { installRetainGuard, type RetainGuard } from './retain-guard.ts'
import { installSessionExpiry } from './session-expiry.ts'

/** Options of the embedded MQTT broker. */
export interface EmbeddedBrokerOptions {
  /** Interface to listen on; loopback by default so nothing outside the device can reach it. @default '127.0.0.1' */
  host?: string
  /** TCP port; 0 picks a free one. @default 1883 */
  port?: number
  logger?: Logger
  /** MQTT authentication and ACL (docs/security.md); without it every client may connect and do anything. */
  auth?: BrokerAuthOptions
  /** A persistent session (clean: false) ends this long after its client disconnected. @default 7_200_000 (2 h) */
  sessionExpiryMs?: number
  /** The controller's local id: `/<localId>/controller` is a control topic too (retain-guard.ts). */
  localId?: string | undefined
}

/** Counters of the embedded broker's connect path, for health listings and tests. */
export interface EmbeddedBrokerStats {
  /** CONNECTs refused for breaking MQTT 3.1.1 (docs/protocol.md, "Connect-path conformance"). */
  connectsRejected: number
  /** Persistent sessions kept now, connected or not. */
  persistentSessions: number
  /** Persistent sessions discarded because their client did not come back within `sessionExpiryMs`. */
  sessionsExpired: number
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  readonly aedes: Aedes
  readonly host: string
  readonly port: number
  /** `mqtt://host:port`, for clients. */
  readonly url: string
  /** Authentication and ACL, when {@link EmbeddedBrokerOptions.auth} was given. */
  readonly auth: BrokerAuth | undefined
  stats(): EmbeddedBrokerStats
  /** Publishes on control topics whose retain flag was cleared (retain-guard.ts). */
  readonly retainGuard: RetainGuard
  close(): Promise<void>
}

/**
 * Starts the embedded aedes broker on a TCP port. aedes 1.2 speaks MQTT 3.1.1 (and 3.1) only: a CONNECT asking for
 * MQTT 5 gets CONNACK 1 (unacceptable protocol version). Every accepted socket gets TCP_NODELAY: the
 * protocol is request/response, so Nagle's delay would sit on every round trip.
 */
export async function startBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 1883
  const log = (options.logger ?? silentLogger()).child({ component: 'broker' })
  // Client ids of up to 128 characters: MQTT 3.1.1 only guarantees 23, but bundles of other SDKs use longer ones.
  // aedes checks the length for MQTT 3.1 only; the connect guard for both.
  const aedes = await Aedes.createBroker({ maxClientsIdLength: MAX_CLIENT_ID_LENGTH })
  const guard = installConnectGuard(aedes, log)
  const sessions = installSessionExpiry(aedes, options.sessionExpiryMs ?? 7_200_000, log)
  const auth = options.auth ? installBrokerAuth(aedes, options.auth, log, sessions) : undefined
  const retainGuard = installRetainGuard(aedes, {
    localId: options.localId ?? options.auth?.localId,
    logger: log,
  })
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  aedes.on('clientError', (client, err) =>
    log.debug({ clientId: client?.id, err: err.message }, 'client error'),
  )
  aedes.on('connectionError', (_client, err) => log.debug({ err: err.message }, 'connection error'))
  server.listen({ host, port })
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([err]) => Promise.reject(err as Error)),
    ])
  } catch (err) {
    auth?.close()
    sessions.close()
    aedes.close()
    throw createError('GW_ERR_BROKER_LISTEN', [host, port, (err as Error).message], { cause: err })
  }
  const address = server.address()
  const actualPort = typeof address === 'object' && address ? address.port : port
  const urlHost = host.includes(':') ? `[${host}]` : host
  log.info({ host, port: actualPort, auth: auth !== undefined }, 'embedded MQTT broker listening')
  let closing: Promise<void> | undefined
  return {
    aedes,
    host,
    port: actualPort,
    url: `mqtt://${urlHost}:${actualPort}`,
    auth,
    stats: () => ({ ...guard.stats(), ...sessions.stats() }),
    retainGuard,
    close() {
      auth?.close()
      sessions.close()
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }).then(() => new Promise<void>((resolve) => aedes.close(() => resolve())))
      return closing
    },
  }
}
